/*
 * gw_req_state.c — the request state machine of gw_req_state.h as two small
 * tables, so the access handler reads as a switch over one state and the
 * transitions can be tested without a socket.
 */
#include "node/gw_req_state.h"

int gw_req_next(int s, int ev)
{
    switch (ev) {
    case GW_EV_REPLY:
        if (s == GW_REQ_READING)
            return GW_REQ_ANSWERED;
        if (s == GW_REQ_SUSPENDED || s == GW_REQ_RESUMED)
            return s; /* the worker's or finish's answer, queued after the resume */
        return -1;
    case GW_EV_SUSPEND:
        return s == GW_REQ_READING ? GW_REQ_SUSPENDED : -1;
    case GW_EV_RESUME:
        return s == GW_REQ_SUSPENDED ? GW_REQ_RESUMED : -1;
    default:
        return -1;
    }
}

int gw_req_action(int s)
{
    switch (s) {
    case GW_REQ_READING:
        return GW_ACT_READ;
    case GW_REQ_ANSWERED:
        return GW_ACT_QUEUE;
    case GW_REQ_SUSPENDED:
        return GW_ACT_WAIT;
    case GW_REQ_RESUMED:
        return GW_ACT_FINISH;
    default:
        return -1;
    }
}
