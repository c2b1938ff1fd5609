/*
 * test_guard_frame.c — cons_guard_frame (cons_guard.c), the checks every
 * frame passes before raft sees it, one refusal reason at a time: who may
 * send (the sender's id and address against the configuration and the
 * ledger's membership, votes from voters only), how far a term may jump,
 * which node may send a leader's messages, and an AppendEntries that
 * contradicts a committed entry or carries a configuration the ledger does
 * not explain. Each refusal is asserted by its logged reason (stderr is
 * captured) and the refusal counter; each acceptance by the frame reaching
 * raft untouched.
 *
 * The node is a zeroed struct cons with raft's public fields set: id 1,
 * term 5, configuration {1 voter, 2 voter, 3 standby}, following 2, commit
 * 108 with the snapshot at 108 (term 5) and a trail record of entries up to
 * 110 at term 5.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consensus/cons_int.h"

#define A1 "tcp://127.0.0.1:7001"
#define A2 "tcp://127.0.0.1:7002"
#define A3 "tcp://127.0.0.1:7003"
#define A9 "tcp://127.0.0.1:7009"

static cons_peer members_out[4];
static size_t members_n;
static size_t members(void *ctx, cons_peer *out, size_t max)
{
    (void)ctx;
    for (size_t i = 0; i < members_n && i < max && i < 4; i++)
        out[i] = members_out[i];
    return members_n;
}

static void member_set(size_t n, const uint64_t *ids, const char *const *addrs)
{
    members_n = n;
    for (size_t i = 0; i < n; i++) {
        memset(&members_out[i], 0, sizeof members_out[i]);
        members_out[i].id = ids[i];
        snprintf(members_out[i].addr, sizeof members_out[i].addr, "%s", addrs[i]);
    }
}

static struct {
    raft_index index;
    raft_term term;
} records[1];

/* Long enough that "heard just now" stays recent however slow the run. */
#define ELECTION_MS 60000

static cons *node(void)
{
    cons *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->cfg.id = 1;
    c->cfg.fsm.members = members;
    struct raft *r = &c->raft;
    r->id = 1;
    r->current_term = 5;
    r->state = RAFT_FOLLOWER;
    r->follower_state.current_leader.id = 2;
    r->commit_index = 108;
    r->trail.snapshot.index = 108;
    r->trail.snapshot.term = 5;
    r->trail.offset = 100;
    raft_configuration_init(&r->configuration);
    raft_configuration_init(&r->configuration_committed);
    assert_int_equal(raft_configuration_add(&r->configuration, 1, A1, RAFT_VOTER), 0);
    assert_int_equal(raft_configuration_add(&r->configuration, 2, A2, RAFT_VOTER), 0);
    assert_int_equal(raft_configuration_add(&r->configuration, 3, A3, RAFT_STANDBY), 0);
    member_set(0, NULL, NULL);
    c->cfg.election_ms = ELECTION_MS;
    c->leader_heard_id = 2; /* its leader was heard just now */
    c->leader_heard_ms = cons_now_ms();
    return c;
}

/* A trail holding entries 101..110, all of term 5 (one record). */
static void trail_to_110(cons *c)
{
    records[0].index = 110;
    records[0].term = 5;
    c->raft.trail.records = (void *)records;
    c->raft.trail.size = 1;
    c->raft.trail.front = 0;
    c->raft.trail.back = 1;
}

static void node_free(cons *c)
{
    raft_configuration_close(&c->raft.configuration);
    raft_configuration_close(&c->raft.configuration_committed);
    free(c);
}

static cons_wire wire(int type, uint64_t from, const char *addr, raft_term term)
{
    cons_wire w;
    memset(&w, 0, sizeof w);
    w.kind = type;
    w.from_id = from;
    snprintf(w.from_addr, sizeof w.from_addr, "%s", addr);
    w.msg.type = type;
    switch (type) {
    case RAFT_REQUEST_VOTE:
        w.msg.request_vote.term = term;
        break;
    case RAFT_REQUEST_VOTE_RESULT:
        w.msg.request_vote_result.term = term;
        break;
    case RAFT_APPEND_ENTRIES:
        w.msg.append_entries.term = term;
        break;
    case RAFT_APPEND_ENTRIES_RESULT:
        w.msg.append_entries_result.term = term;
        break;
    case RAFT_INSTALL_SNAPSHOT:
        w.msg.install_snapshot.term = term;
        break;
    case RAFT_TIMEOUT_NOW:
        w.msg.timeout_now.term = term;
        break;
    }
    return w;
}

/* Entries prev+1.. of w's AppendEntries: terms[i], a RAFT_CHANGE carrying
 * confs[i] where confs[i] is not NULL. One raft_malloc'd batch, as decoded. */
static void entries(cons_wire *w, raft_index prev, raft_term prev_term, unsigned n,
                    const raft_term *terms, struct raft_configuration *const *confs)
{
    struct raft_append_entries *a = &w->msg.append_entries;
    a->prev_log_index = prev;
    a->prev_log_term = prev_term;
    if (n == 0)
        return;
    struct raft_buffer enc[8] = {{0}};
    size_t total = 0;
    assert_true(n <= 8);
    for (unsigned i = 0; i < n; i++) {
        if (confs && confs[i])
            assert_int_equal(raft_configuration_encode(confs[i], &enc[i]), 0);
        else
            enc[i] = (struct raft_buffer){NULL, 8};
        total += enc[i].len;
    }
    uint8_t *batch = raft_malloc(total);
    struct raft_entry *e = raft_calloc(n, sizeof *e);
    assert_non_null(batch);
    assert_non_null(e);
    size_t off = 0;
    for (unsigned i = 0; i < n; i++) {
        bool conf = enc[i].base != NULL;
        if (conf) {
            memcpy(batch + off, enc[i].base, enc[i].len);
            raft_free(enc[i].base);
        } else {
            memset(batch + off, 'x', enc[i].len);
        }
        e[i] = (struct raft_entry){.term = terms[i],
                                   .type = conf ? RAFT_CHANGE : RAFT_COMMAND,
                                   .buf = {batch + off, enc[i].len},
                                   .batch = batch};
        off += enc[i].len;
    }
    a->entries = e;
    a->n_entries = n;
}

static void wire_release(cons_wire *w)
{
    struct raft_append_entries *a = &w->msg.append_entries;
    if (w->msg.type == RAFT_APPEND_ENTRIES && a->n_entries > 0) {
        raft_free(a->entries[0].batch);
        raft_free(a->entries);
        a->n_entries = 0;
    }
}

/* cons_guard_frame with stderr captured: its verdict, and the logged line in
 * out (empty when nothing was logged). */
static bool guard(cons *c, cons_wire *w, char *out, size_t out_len)
{
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), 2) >= 0);
    c->guard_log_ms = 0; /* not rate-limited here */
    bool ok = cons_guard_frame(c, w);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t n = fread(out, 1, out_len - 1, tmp);
    out[n] = 0;
    fclose(tmp);
    return ok;
}

static void refused(cons *c, cons_wire *w, const char *why)
{
    char line[1024];
    uint64_t before = c->msgs_refused;
    bool ok = guard(c, w, line, sizeof line);
    if (ok || !strstr(line, why))
        fail_msg("expected refusal \"%s\", got %s: \"%s\"", why, ok ? "accepted" : "refused",
                 line);
    assert_int_equal(c->msgs_refused, before + 1);
    assert_non_null(strstr(line, cons_msg_name(w->msg.type)));
}

static void accepted(cons *c, cons_wire *w)
{
    char line[1024];
    uint64_t before = c->msgs_refused;
    if (!guard(c, w, line, sizeof line))
        fail_msg("expected acceptance, got: \"%s\"", line);
    assert_int_equal(c->msgs_refused, before);
}

/* Sender identity: its id against this node's, its address against the
 * configuration's, then the ledger's membership for ids the configuration
 * does not hold. */
static void test_frame_sender_identity(void **state)
{
    (void)state;
    cons *c = node();
    cons_wire w = wire(RAFT_APPEND_ENTRIES_RESULT, 1, A1, 5);
    refused(c, &w, "sender claims this node's id");
    w = wire(RAFT_APPEND_ENTRIES_RESULT, 3, A2, 5);
    refused(c, &w, "sender's address is not the configuration's for its id");
    w = wire(RAFT_APPEND_ENTRIES_RESULT, 3, A3, 5);
    accepted(c, &w);
    /* 9 is in no configuration: refused while a leader is known ... */
    w = wire(RAFT_APPEND_ENTRIES_RESULT, 9, A9, 5);
    refused(c, &w, "sender is not a member");
    /* ... unless the ledger names it, at its address */
    uint64_t ids[1] = {9};
    const char *addrs[1] = {A9};
    member_set(1, ids, addrs);
    c->wanted_ms = 0;
    accepted(c, &w);
    const char *elsewhere[1] = {A2};
    member_set(1, ids, elsewhere);
    c->wanted_ms = 0;
    refused(c, &w, "sender's address is not the configuration's for its id");
    member_set(0, NULL, NULL);
    c->wanted_ms = 0;
    /* a committed configuration that still holds it */
    assert_int_equal(raft_configuration_add(&c->raft.configuration_committed, 9, A9, RAFT_VOTER),
                     0);
    accepted(c, &w);
    raft_configuration_close(&c->raft.configuration_committed);
    raft_configuration_init(&c->raft.configuration_committed);
    /* the leader this node follows is heard even before it is in a
     * configuration here; with no leader known the network may be cut,
     * and a stranger is let through to raft */
    c->raft.follower_state.current_leader.id = 9;
    accepted(c, &w);
    c->raft.follower_state.current_leader.id = 0;
    accepted(c, &w);
    /* a node with no configuration yet (joining) hears anyone */
    c->raft.follower_state.current_leader.id = 2;
    struct raft_configuration keep = c->raft.configuration;
    raft_configuration_init(&c->raft.configuration);
    accepted(c, &w);
    w = wire(RAFT_REQUEST_VOTE, 9, A9, 6); /* nor are votes checked against it */
    accepted(c, &w);
    w = wire(RAFT_APPEND_ENTRIES_RESULT, 9, A9, 5);
    c->raft.configuration = keep;
    /* no membership callback at all: nothing but the configuration counts */
    c->cfg.fsm.members = NULL;
    c->wanted_ms = 0;
    refused(c, &w, "sender is not a member");
    assert_int_equal(c->nwanted, 0);
    node_free(c);
}

/* A ledger that reports more members than fit is not believed. */
static void test_frame_membership_overflow_ignored(void **state)
{
    (void)state;
    cons *c = node();
    uint64_t ids[1] = {9};
    const char *addrs[1] = {A9};
    member_set(1, ids, addrs);
    members_n = CONS_PEERS_MAX + 1;
    cons_wire w = wire(RAFT_APPEND_ENTRIES_RESULT, 9, A9, 5);
    refused(c, &w, "sender is not a member");
    assert_int_equal(c->nwanted, 0);
    members_n = 1; /* the ledger's answer is reused for a while ... */
    refused(c, &w, "sender is not a member");
    assert_int_equal(c->nwanted, 0);
    c->wanted_ms = cons_now_ms() - 1000; /* ... then read again */
    accepted(c, &w);
    assert_int_equal(c->nwanted, 1);
    node_free(c);
}

/* Votes are asked by voters only. */
static void test_frame_votes_from_voters(void **state)
{
    (void)state;
    cons *c = node();
    cons_wire w = wire(RAFT_REQUEST_VOTE, 3, A3, 6);
    refused(c, &w, "vote requested by a non-voter");
    uint64_t ids[1] = {9};
    const char *addrs[1] = {A9};
    member_set(1, ids, addrs);
    w = wire(RAFT_REQUEST_VOTE, 9, A9, 6);
    refused(c, &w, "vote requested by a non-voter");
    w = wire(RAFT_REQUEST_VOTE, 2, A2, 6);
    accepted(c, &w);
    w = wire(RAFT_REQUEST_VOTE_RESULT, 2, A2, 6);
    accepted(c, &w);
    node_free(c);
}

/* A term more than CONS_TERM_JUMP_MAX ahead is refused once the network
 * works (a leader known and heard within an election timeout); exactly at
 * the limit it passes. */
static void test_frame_term_jump(void **state)
{
    (void)state;
    cons *c = node();
    cons_wire w = wire(RAFT_REQUEST_VOTE, 2, A2, 5 + CONS_TERM_JUMP_MAX);
    accepted(c, &w);
    w = wire(RAFT_REQUEST_VOTE, 2, A2, 5 + CONS_TERM_JUMP_MAX + 1);
    refused(c, &w, "term jumps too far ahead");
    /* its leader quiet an election timeout: the network may have moved on */
    c->leader_heard_ms = cons_now_ms() - (ELECTION_MS - 1000);
    refused(c, &w, "term jumps too far ahead");
    c->leader_heard_ms = cons_now_ms() - ELECTION_MS;
    accepted(c, &w);
    c->leader_heard_ms = cons_now_ms();
    refused(c, &w, "term jumps too far ahead");
    c->raft.follower_state.current_leader.id = 0;
    accepted(c, &w);
    node_free(c);
}

/* Leader's messages (AppendEntries, InstallSnapshot, TimeoutNow) come from
 * the leader this node follows, or from the candidate it voted for in this
 * term; a leader takes them only from the server it is handing over to, in
 * a later term. */
static void test_frame_leader_messages(void **state)
{
    (void)state;
    cons *c = node();
    int kinds[3] = {RAFT_APPEND_ENTRIES, RAFT_INSTALL_SNAPSHOT, RAFT_TIMEOUT_NOW};
    for (int k = 0; k < 3; k++) {
        cons_wire w = wire(kinds[k], 3, A3, 5);
        refused(c, &w, "not the leader this node follows");
        c->raft.voted_for = 3;
        accepted(c, &w);
        c->leader_heard_id = 2; /* raft would follow 3 now; this test keeps 2 */
        w = wire(kinds[k], 3, A3, 6); /* voted in term 5, not 6 */
        refused(c, &w, "not the leader this node follows");
        c->raft.voted_for = 0;
        w = wire(kinds[k], 3, A3, 4); /* an old term: raft answers it */
        accepted(c, &w);
        w = wire(kinds[k], 2, A2, 5);
        accepted(c, &w);
    }
    /* this node leads */
    c->raft.state = RAFT_LEADER;
    cons_wire w = wire(RAFT_APPEND_ENTRIES, 2, A2, 5);
    refused(c, &w, "sent to this node, which leads");
    w = wire(RAFT_TIMEOUT_NOW, 2, A2, 6);
    refused(c, &w, "sent to this node, which leads");
    c->raft.leader_state.transferee = 2;
    c->raft.leader_state.transferring = true;
    accepted(c, &w);
    w = wire(RAFT_TIMEOUT_NOW, 2, A2, 5); /* the same term: still refused */
    refused(c, &w, "sent to this node, which leads");
    w = wire(RAFT_APPEND_ENTRIES_RESULT, 2, A2, 5);
    accepted(c, &w);
    c->raft.state = RAFT_FOLLOWER;
    c->raft.leader_state.transferee = 0;
    c->raft.leader_state.transferring = false;
    node_free(c);
}

/* A spare or standby never stands for election, so raft keeps its old
 * leader id for good: once that leader has been quiet an election timeout,
 * a later term's AppendEntries or InstallSnapshot from another member is
 * taken (the network elected a new leader), never before, never in the same
 * term, and never a TimeoutNow. */
static void test_frame_new_leader_after_quiet(void **state)
{
    (void)state;
    cons *c = node();
    c->raft.configuration.servers[0].role = RAFT_SPARE;
    int kinds[2] = {RAFT_APPEND_ENTRIES, RAFT_INSTALL_SNAPSHOT};
    for (int k = 0; k < 2; k++) {
        c->leader_heard_id = 2;
        c->leader_heard_ms = cons_now_ms() - (ELECTION_MS - 1000);
        cons_wire w = wire(kinds[k], 3, A3, 6);
        refused(c, &w, "not the leader this node follows");
        c->leader_heard_ms = cons_now_ms() - ELECTION_MS;
        w = wire(kinds[k], 3, A3, 5);
        refused(c, &w, "not the leader this node follows");
        w = wire(RAFT_TIMEOUT_NOW, 3, A3, 6);
        refused(c, &w, "not the leader this node follows");
        w = wire(kinds[k], 3, A3, 6);
        accepted(c, &w);
        /* taken: 3 is now the leader heard from, just now */
        assert_int_equal(c->leader_heard_id, 3);
        assert_true(cons_now_ms() - c->leader_heard_ms < 1000);
        /* a leader id never heard from counts as quiet */
        c->leader_heard_id = 4;
        c->leader_heard_ms = cons_now_ms();
        accepted(c, &w);
    }
    /* heard just now, by any measure: the old rule stands */
    c->leader_heard_id = 2;
    c->leader_heard_ms = cons_now_ms();
    cons_wire w = wire(RAFT_APPEND_ENTRIES, 3, A3, 6);
    refused(c, &w, "not the leader this node follows");
    node_free(c);
}

/* An AppendEntries may not contradict what this node committed: its
 * previous entry or any entry up to the commit index, where the term is
 * known (the trail or the snapshot). */
static void test_frame_append_contradicts_commit(void **state)
{
    (void)state;
    cons *c = node();
    const raft_term t5[3] = {5, 5, 5}, t4[3] = {4, 4, 4};
    /* prev at the snapshot (108, term 5), with no trail */
    cons_wire w = wire(RAFT_APPEND_ENTRIES, 2, A2, 5);
    entries(&w, 108, 4, 0, NULL, NULL);
    refused(c, &w, "previous entry contradicts a committed one");
    w = wire(RAFT_APPEND_ENTRIES, 2, A2, 5);
    entries(&w, 108, 5, 2, t5, NULL);
    accepted(c, &w);
    assert_int_equal(w.msg.append_entries.n_entries, 2);
    wire_release(&w);
    /* entries 107..109: 108 committed at term 5, sent at term 4 */
    w = wire(RAFT_APPEND_ENTRIES, 2, A2, 5);
    entries(&w, 106, 5, 3, t4, NULL);
    refused(c, &w, "an entry contradicts a committed one");
    wire_release(&w);
    /* with the trail: 104 is known to be of term 5 */
    trail_to_110(c);
    w = wire(RAFT_APPEND_ENTRIES, 2, A2, 5);
    entries(&w, 104, 4, 0, NULL, NULL);
    refused(c, &w, "previous entry contradicts a committed one");
    w = wire(RAFT_APPEND_ENTRIES, 2, A2, 5);
    entries(&w, 103, 5, 3, t4, NULL);
    refused(c, &w, "an entry contradicts a committed one");
    wire_release(&w);
    w = wire(RAFT_APPEND_ENTRIES, 2, A2, 5);
    entries(&w, 103, 5, 3, t5, NULL);
    accepted(c, &w);
    wire_release(&w);
    /* the same record in a ring that wrapped: slot 1 of 2, used [1, 0) */
    static struct {
        raft_index index;
        raft_term term;
    } ring[2] = {{0, 0}, {110, 5}};
    c->raft.trail.records = (void *)ring;
    c->raft.trail.size = 2;
    c->raft.trail.front = 1;
    c->raft.trail.back = 0;
    w = wire(RAFT_APPEND_ENTRIES, 2, A2, 5);
    entries(&w, 104, 4, 0, NULL, NULL);
    refused(c, &w, "previous entry contradicts a committed one");
    trail_to_110(c);
    /* below the trail (compacted) and past it: the term is unknown there,
     * raft decides */
    w = wire(RAFT_APPEND_ENTRIES, 2, A2, 5);
    entries(&w, 50, 4, 0, NULL, NULL);
    accepted(c, &w);
    c->raft.commit_index = 200;
    w = wire(RAFT_APPEND_ENTRIES, 2, A2, 5);
    entries(&w, 150, 4, 0, NULL, NULL);
    accepted(c, &w);
    /* an older term: not looked at (raft rejects it) */
    w = wire(RAFT_APPEND_ENTRIES, 2, A2, 4);
    entries(&w, 104, 4, 0, NULL, NULL);
    accepted(c, &w);
    node_free(c);
}

/* A configuration entry past the commit index is taken only when the
 * ledger's membership explains it; otherwise the frame is cut before it,
 * logged, and counted. */
static void test_frame_append_unexplained_configuration(void **state)
{
    (void)state;
    cons *c = node();
    char line[1024];
    struct raft_configuration good, stranger, wrong_addr, demoted;
    raft_configuration_init(&good);
    raft_configuration_add(&good, 1, A1, RAFT_VOTER);
    raft_configuration_add(&good, 2, A2, RAFT_VOTER);
    raft_configuration_init(&stranger);
    raft_configuration_add(&stranger, 1, A1, RAFT_VOTER);
    raft_configuration_add(&stranger, 7, A9, RAFT_VOTER);
    raft_configuration_init(&wrong_addr);
    raft_configuration_add(&wrong_addr, 1, A1, RAFT_VOTER);
    raft_configuration_add(&wrong_addr, 2, A9, RAFT_VOTER);
    raft_configuration_init(&demoted);
    raft_configuration_add(&demoted, 1, A1, RAFT_VOTER);
    raft_configuration_add(&demoted, 2, A2, RAFT_STANDBY);
    struct raft_configuration dropped;
    raft_configuration_init(&dropped);
    raft_configuration_add(&dropped, 1, A1, RAFT_VOTER);
    const raft_term t[3] = {5, 5, 5};

    struct {
        struct raft_configuration *conf;
        bool members_known;
        const char *why; /* NULL: taken whole */
    } cases[] = {
        {&good, false, "no membership known yet"},
        {&good, true, NULL},
        {&stranger, true, "server 7 at " A9 " is not a member there"},
        {&wrong_addr, true, "server 2 at " A9 " is not a member there"},
        {&demoted, true, "member 2 dropped or demoted"},
        {&dropped, true, "member 2 dropped or demoted"},
    };
    uint64_t ids[2] = {1, 2};
    const char *addrs[2] = {A1, A2};
    assert_int_equal(raft_configuration_add(&c->raft.configuration_committed, 1, A1, RAFT_VOTER),
                     0);
    assert_int_equal(raft_configuration_add(&c->raft.configuration_committed, 2, A2, RAFT_VOTER),
                     0);
    /* a committed server the ledger no longer wants may go */
    assert_int_equal(raft_configuration_add(&c->raft.configuration_committed, 3, A3, RAFT_VOTER),
                     0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        member_set(cases[i].members_known ? 2 : 0, ids, addrs);
        struct raft_configuration *confs[3] = {NULL, cases[i].conf, NULL};
        cons_wire w = wire(RAFT_APPEND_ENTRIES, 2, A2, 5);
        entries(&w, 108, 5, 3, t, confs);
        uint64_t withheld = c->confs_withheld;
        assert_true(guard(c, &w, line, sizeof line));
        if (!cases[i].why) {
            assert_int_equal(w.msg.append_entries.n_entries, 3);
            assert_int_equal(c->confs_withheld, withheld);
        } else {
            if (!strstr(line, cases[i].why) || !strstr(line, "configuration entry 110 from 2"))
                fail_msg("case %zu: \"%s\"", i, line);
            assert_int_equal(w.msg.append_entries.n_entries, 1);
            assert_int_equal(c->confs_withheld, withheld + 1);
        }
        wire_release(&w);
    }
    /* first entry undecodable: cut to a heartbeat, nothing left to free */
    member_set(2, ids, addrs);
    cons_wire w = wire(RAFT_APPEND_ENTRIES, 2, A2, 5);
    entries(&w, 108, 5, 1, t, NULL);
    w.msg.append_entries.entries[0].type = RAFT_CHANGE;
    assert_true(guard(c, &w, line, sizeof line));
    assert_non_null(strstr(line, "(undecodable)"));
    assert_int_equal(w.msg.append_entries.n_entries, 0);
    assert_null(w.msg.append_entries.entries);
    /* log lines are rate-limited: the next refusal within the second is
     * counted, not written, and the line after says how many were held */
    w = wire(RAFT_APPEND_ENTRIES_RESULT, 1, A1, 5);
    assert_false(guard(c, &w, line, sizeof line));
    c->guard_log_ms = cons_now_ms();
    assert_false(cons_guard_frame(c, &w));
    assert_int_equal(c->guard_log_suppressed, 1);
    assert_false(guard(c, &w, line, sizeof line));
    assert_non_null(strstr(line, "(and 1 more refusals since the last line)"));
    assert_int_equal(c->guard_log_suppressed, 0);
    /* a second after the last line, the next one is written */
    c->guard_log_ms = cons_now_ms() - 1001;
    uint64_t refusals = c->msgs_refused;
    FILE *tmp = tmpfile();
    fflush(stderr);
    int saved = dup(2);
    dup2(fileno(tmp), 2);
    assert_false(cons_guard_frame(c, &w));
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t got = fread(line, 1, sizeof line - 1, tmp);
    line[got] = 0;
    fclose(tmp);
    assert_non_null(strstr(line, "sender claims this node's id"));
    assert_int_equal(c->msgs_refused, refusals + 1);

    raft_configuration_close(&good);
    raft_configuration_close(&stranger);
    raft_configuration_close(&wrong_addr);
    raft_configuration_close(&demoted);
    raft_configuration_close(&dropped);
    node_free(c);
}

static void test_frame_msg_names(void **state)
{
    (void)state;
    assert_string_equal(cons_msg_name(RAFT_REQUEST_VOTE), "RequestVote");
    assert_string_equal(cons_msg_name(RAFT_REQUEST_VOTE_RESULT), "RequestVoteResult");
    assert_string_equal(cons_msg_name(RAFT_APPEND_ENTRIES), "AppendEntries");
    assert_string_equal(cons_msg_name(RAFT_APPEND_ENTRIES_RESULT), "AppendEntriesResult");
    assert_string_equal(cons_msg_name(RAFT_INSTALL_SNAPSHOT), "InstallSnapshot");
    assert_string_equal(cons_msg_name(RAFT_TIMEOUT_NOW), "TimeoutNow");
    assert_string_equal(cons_msg_name(99), "frame");
}

int main(void)
{
    unsetenv("PROVENA_CONS_QUIET"); /* the refusals are read from the log */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_sender_identity),
        cmocka_unit_test(test_frame_membership_overflow_ignored),
        cmocka_unit_test(test_frame_votes_from_voters),
        cmocka_unit_test(test_frame_term_jump),
        cmocka_unit_test(test_frame_leader_messages),
        cmocka_unit_test(test_frame_new_leader_after_quiet),
        cmocka_unit_test(test_frame_append_contradicts_commit),
        cmocka_unit_test(test_frame_append_unexplained_configuration),
        cmocka_unit_test(test_frame_msg_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
