/*
 * gw_req_state.h — PRIVATE to node/: the life of one request in the gateway's
 * access handler (gateway.c), as one explicit state.
 *
 *   READING ──gw_reply──────────────▶ ANSWERED ──next call: queue the answer
 *      │
 *      └──gw_defer / gw_suspend──▶ SUSPENDED ──pool worker done / gw_resume──▶ RESUMED
 *                                                    next call: finish(), queue ──┘
 *
 * READING: the first calls (route match, Content-Length check) and the body
 * upload; the handler runs in this state. A reply given while SUSPENDED or
 * RESUMED (by the pool worker, or by finish on the polling thread) is kept
 * without a change of state: the request still goes through its resume. A
 * second reply is a handler bug (gw_reply keeps the first answer). Whether an
 * answer is there is not part of the state: gw_reply sets the status.
 */
#ifndef PROVENA_NODE_GW_REQ_STATE_H
#define PROVENA_NODE_GW_REQ_STATE_H

enum gw_req_state {
    GW_REQ_READING = 0, /* calloc'd requests start here */
    GW_REQ_ANSWERED,
    GW_REQ_SUSPENDED,
    GW_REQ_RESUMED,
};

enum gw_req_event {
    GW_EV_REPLY = 1, /* gw_reply recorded an answer */
    GW_EV_SUSPEND,   /* gw_defer / gw_suspend suspended the connection */
    GW_EV_RESUME,    /* the pool worker finished, or gw_resume was called */
};

/* What the access handler does when libmicrohttpd calls it in a state. */
enum gw_req_action {
    GW_ACT_READ = 1, /* take the upload, or run the handler once it is complete */
    GW_ACT_QUEUE,    /* queue the answer */
    GW_ACT_WAIT,     /* nothing yet: the connection is (about to be) suspended */
    GW_ACT_FINISH,   /* run finish if no answer yet, then queue */
};

/* The state after event ev in state s; -1 when ev cannot happen in s. Pure. */
int gw_req_next(int s, int ev);

/* What a call of the access handler does in state s. Pure. */
int gw_req_action(int s);

#endif
