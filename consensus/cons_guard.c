/*
 * cons_guard.c — every raft frame a peer sends is held against this node's
 * own raft state before libraft sees it (consensus thread only).
 *
 * cons_codec already refused whatever is malformed on its own (lengths,
 * bounds, raft's asserted pairs, undecodable configurations). What is left
 * needs the node's state, and comes in four checks, in order:
 *   1. identity: a sender claiming this node's id, or a known id at another
 *      address than the configuration's, is refused; while the network works
 *      for this node (it leads, or follows a leader) a sender that is no member
 *      is refused too, and only voters may ask for votes. (Without the
 *      connection's identity, a peer can still claim another member's id and
 *      address: see docs/ARCHITECTURE.md, "What a peer can still do".)
 *   2. terms: larger than CONS_TERM_MAX is refused by the codec; a jump past
 *      current + CONS_TERM_JUMP_MAX is refused while the network works (a
 *      lagging node that has no leader still follows a far-ahead network).
 *   3. one leader per term: AppendEntries, InstallSnapshot and TimeoutNow at
 *      the current term or later come only from the leader this node follows
 *      (when it follows one) or, at the current term, from the candidate this
 *      node voted for in it, and never to a leader, unless it is the node this
 *      leader hands leadership to, at a later term. (A vote for a candidate
 *      sent by a leadership transfer leaves libraft 0.22 still naming the
 *      old leader: refusing the new one there held every handover at stop
 *      for an election timeout.) "Follows" and "the network works" hold only
 *      while that leader was heard (AppendEntries or InstallSnapshot taken)
 *      within an election timeout: a spare or standby never stands for
 *      election, so libraft keeps its old leader id after the network elected
 *      another, and a later term's AppendEntries or InstallSnapshot from any
 *      member is taken once the old leader has been quiet that long.
 *   4. the log: an AppendEntries that contradicts a committed entry is refused
 *      (libraft 0.22.1 answers it with RAFT_SHUTDOWN, and on that error path
 *      both recvAppendEntries and the legacy recv callback free the entries'
 *      batch: a double free); a configuration entry past the commit index must
 *      be one the ledger's membership (cons_fsm.members: committed node.add /
 *      node.remove) explains, else the frame is cut just before it, so the
 *      entries in front are still taken and the leader sends it again later
 *      (by then the follower has applied the node.add that justifies it).
 * The checks keep raft off every error path of its receive side, which is the
 * only way a frame could reach the double free.
 */
#include "consensus/cons_int.h"
#include "log/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define CONS_PINS_EVERY_MS 1000 /* how often the TLS pins follow the ledger */
#define CONS_WANTED_TTL_MS 200  /* how long a membership read is reused for identity checks */
#define CONS_GUARD_LOG_MS  1000 /* at most one refusal line per second */

/* ---- raft state read through raft.h's public layout ------------------------- */

_Static_assert(RAFT_VERSION_MAJOR == 0 && RAFT_VERSION_MINOR == 22,
               "term_at reads libraft 0.22's struct raft_trail");

/* Term of the entry at index i in raft's in-memory log, 0 when unknown (the
 * same answer as libraft's TrailTermOf, which is not exported). */
static raft_term term_at(const struct raft *r, raft_index i)
{
    const struct raft_trail *t = &r->trail;
    unsigned n = t->front <= t->back ? t->back - t->front : t->size - t->front + t->back;
    if (i == 0)
        return 0;
    if (n == 0 || i <= t->offset || i > t->records[(t->front + n - 1) % t->size].index)
        return i == t->snapshot.index ? t->snapshot.term : 0;
    for (unsigned k = 0; k < n; k++) {
        unsigned p = (t->front + k) % t->size;
        if (t->records[p].index >= i)
            return t->records[p].term;
    }
    return 0;
}

static const struct raft_server *conf_find(const struct raft_configuration *conf, raft_id id)
{
    for (unsigned i = 0; i < conf->n; i++)
        if (conf->servers[i].id == id)
            return &conf->servers[i];
    return NULL;
}

/* spare < standby < voter */
static int role_rank(int role)
{
    return role == RAFT_VOTER ? 2 : role == RAFT_STANDBY ? 1 : 0;
}

static raft_term frame_term(const struct raft_message *m)
{
    switch (m->type) {
    case RAFT_REQUEST_VOTE:
        return m->request_vote.term;
    case RAFT_REQUEST_VOTE_RESULT:
        return m->request_vote_result.term;
    case RAFT_APPEND_ENTRIES:
        return m->append_entries.term;
    case RAFT_APPEND_ENTRIES_RESULT:
        return m->append_entries_result.term;
    case RAFT_INSTALL_SNAPSHOT:
        return m->install_snapshot.term;
    case RAFT_TIMEOUT_NOW:
        return m->timeout_now.term;
    }
    return 0;
}

/* ---- the ledger's membership ------------------------------------------------- */

static void wanted_refresh(cons *c, uint64_t now_ms, bool force)
{
    if (!force && c->wanted_ms && now_ms < c->wanted_ms + CONS_WANTED_TTL_MS)
        return;
    c->wanted_ms = now_ms ? now_ms : 1;
    c->nwanted = 0;
    if (!c->cfg.fsm.members)
        return;
    size_t n = c->cfg.fsm.members(c->cfg.fsm.ctx, c->wanted, CONS_PEERS_MAX);
    if (n > CONS_PEERS_MAX)
        return;
    for (size_t i = 0; i < n; i++)
        c->wanted[i].addr[CONS_ADDR_MAX - 1] = 0;
    c->nwanted = n;
}

static bool in_configuration(const cons *c, uint64_t id)
{
    const struct raft_configuration *conf = &c->raft.configuration;
    for (unsigned i = 0; i < conf->n; i++)
        if (conf->servers[i].id == id)
            return true;
    return false;
}

static const cons_peer *wanted_find(const cons *c, uint64_t id)
{
    for (size_t i = 0; i < c->nwanted; i++)
        if (c->wanted[i].id == id)
            return &c->wanted[i];
    return NULL;
}

/* The keys the transport trusts: the ledger's members, and a server the
 * ledger removed for as long as it is still in the Raft configuration. The
 * leader takes it out of the configuration only once heartbeats have carried
 * the commit of its node.remove to it (cons_members.c rule 4); cutting its
 * links at the moment the leader applied that block left it without the
 * commit, so it never learned of its removal, campaigned against the rest,
 * and its HELLOs were refused and redialled many times a second. */
static size_t pins_next(cons *c)
{
    size_t n = 0;
    if (c->nwanted == 0)
        return 0; /* no opinion yet */
    for (size_t i = 0; i < c->nwanted; i++)
        c->pins_next[n++] = c->wanted[i];
    for (size_t i = 0; i < c->npinned && n < CONS_PEERS_MAX; i++) {
        const cons_peer *p = &c->pinned[i];
        if (!wanted_find(c, p->id) && p->id != c->cfg.id &&
            in_configuration(c, p->id))
            c->pins_next[n++] = *p;
    }
    memcpy(c->pinned, c->pins_next, n * sizeof *c->pinned);
    c->npinned = n;
    return n;
}

/* Once a second: hand the ledger's members and their pinned TLS certificates
 * (and a leaving server's, pins_next) to the transport, which trusts exactly
 * those (cons_net_pins_set), and say in the log what that changed. Before any
 * member list is known (a joining node with no state yet) the configuration's
 * first pins stay. */
void cons_guard_pins(cons *c, uint64_t now_ms)
{
    if (!c->cfg.tls_file)
        return;
    if (now_ms < c->pins_ms + CONS_PINS_EVERY_MS)
        return;
    c->pins_ms = now_ms;
    wanted_refresh(c, now_ms, true);
    char e[256] = "";
    size_t np = pins_next(c);
    int what = cons_net_pins_set(c->net, c->pinned, np, e, sizeof e);
    if (what & CONS_NET_PINS_CHANGED)
        cons_log(c,
                 "TLS: the pinned keys changed (%zu member(s)): connections of keys no longer "
                 "pinned closed%s",
                 np,
                 what & CONS_NET_LISTENER_RESTARTED ? ", listener restarted to trust the new" : "");
    if (what & CONS_NET_KEY_RELOADED)
        cons_log(c, "TLS: %s changed on disk: now using its key", c->tls_file);
    if (what & CONS_NET_KEY_BAD)
        cons_log(c, "TLS: %s changed but cannot be used, keeping the old key: %s", c->tls_file, e);
    if (what & CONS_NET_LISTEN_FAILED)
        cons_log(c, "TLS: %s", e);
    bool pinned = cons_net_self_pinned(c->net, c->wanted, c->nwanted);
    if (!pinned && !c->self_unpinned_logged)
        cons_log(c,
                 "TLS: the ledger pins another certificate for node %llu than %s holds: peers "
                 "refuse this node until the pinned key is installed there",
                 (unsigned long long)c->cfg.id, c->tls_file);
    c->self_unpinned_logged = !pinned;
}

/* A configuration entry is explained by the ledger when every server in it is
 * a member at the address the ledger names, and no member of the committed
 * configuration that the ledger still wants is dropped or demoted (the
 * leader's reconciliation only adds, promotes, and removes what the ledger
 * removed: cons_members.c). */
static bool conf_explained(cons *c, const struct raft_entry *e, char *why, size_t why_len)
{
    struct raft_configuration conf;
    if (cons_codec_conf_decode(&conf, e->buf.base, e->buf.len) != 0) {
        raft_configuration_close(&conf);
        snprintf(why, why_len, "undecodable");
        return false;
    }
    bool ok = c->nwanted > 0;
    if (!ok)
        snprintf(why, why_len, "no membership known yet");
    for (unsigned i = 0; ok && i < conf.n; i++) {
        const cons_peer *p = wanted_find(c, conf.servers[i].id);
        if (!p || strcmp(p->addr, conf.servers[i].address) != 0) {
            snprintf(why, why_len, "server %llu at %.64s is not a member there",
                     (unsigned long long)conf.servers[i].id, conf.servers[i].address);
            ok = false;
        }
    }
    const struct raft_configuration *committed = &c->raft.configuration_committed;
    for (unsigned i = 0; ok && i < committed->n; i++) {
        const struct raft_server *s = &committed->servers[i];
        if (!wanted_find(c, s->id))
            continue;
        const struct raft_server *now = conf_find(&conf, s->id);
        if (!now || role_rank(now->role) < role_rank(s->role)) {
            snprintf(why, why_len, "member %llu dropped or demoted", (unsigned long long)s->id);
            ok = false;
        }
    }
    raft_configuration_close(&conf);
    return ok;
}

/* ---- logging, rate-limited ----------------------------------------------------- */

static void guard_log(cons *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void guard_log(cons *c, const char *fmt, ...)
{
    uint64_t now = cons_now_ms();
    if (c->guard_log_ms && now < c->guard_log_ms + CONS_GUARD_LOG_MS) {
        c->guard_log_suppressed++;
        return;
    }
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (c->guard_log_suppressed)
        cons_log_at(c, LOG_LEVEL_WARN, "%s (and %llu more refusals since the last line)", line,
                    (unsigned long long)c->guard_log_suppressed);
    else
        cons_log_at(c, LOG_LEVEL_WARN, "%s", line);
    c->guard_log_ms = now;
    c->guard_log_suppressed = 0;
}

/* ---- the checks ------------------------------------------------------------------ */

static const char *check_identity(cons *c, const cons_wire *w, bool settled, raft_id lid)
{
    const struct raft *r = &c->raft;
    if (w->from_id == c->cfg.id)
        return "sender claims this node's id";
    const struct raft_server *s = conf_find(&r->configuration, w->from_id);
    if (!s)
        s = conf_find(&r->configuration_committed, w->from_id);
    const char *known = s ? s->address : NULL;
    if (!known) {
        wanted_refresh(c, cons_now_ms(), false);
        const cons_peer *p = wanted_find(c, w->from_id);
        known = p ? p->addr : NULL;
    }
    if (known && strcmp(known, w->from_addr) != 0)
        return "sender's address is not the configuration's for its id";
    if (!known && settled && w->from_id != lid && r->configuration.n > 0)
        return "sender is not a member";
    if (w->kind == RAFT_REQUEST_VOTE && r->configuration.n > 0) {
        const struct raft_server *v = conf_find(&r->configuration, w->from_id);
        if (!v || v->role != RAFT_VOTER)
            return "vote requested by a non-voter";
    }
    return NULL;
}

/* Cut an AppendEntries to its first k entries (k < n). Entries share one
 * batch; with none left the frame is a heartbeat and owns nothing. */
static void append_cut(struct raft_append_entries *a, unsigned k)
{
    if (k == 0) {
        raft_free(a->entries[0].batch);
        raft_free(a->entries);
        a->entries = NULL;
    }
    a->n_entries = k;
}

static const char *check_append(cons *c, cons_wire *w)
{
    struct raft *r = &c->raft;
    struct raft_append_entries *a = &w->msg.append_entries;
    if (a->term < raft_current_term(r))
        return NULL; /* raft rejects it without looking at the entries */
    raft_index commit = raft_commit_index(r);
    if (a->prev_log_index > 0 && a->prev_log_index <= commit) {
        raft_term t = term_at(r, a->prev_log_index);
        if (t != 0 && t != a->prev_log_term)
            return "previous entry contradicts a committed one";
    }
    bool fresh = false;
    for (unsigned j = 0; j < a->n_entries; j++) {
        raft_index idx = a->prev_log_index + 1 + j;
        const struct raft_entry *e = &a->entries[j];
        if (idx <= commit) {
            raft_term t = term_at(r, idx);
            if (t != 0 && t != e->term)
                return "an entry contradicts a committed one";
            continue;
        }
        if (e->type != RAFT_CHANGE)
            continue;
        if (!fresh) {
            wanted_refresh(c, cons_now_ms(), true);
            fresh = true;
        }
        char why[160];
        if (!conf_explained(c, e, why, sizeof why)) {
            c->confs_withheld++;
            guard_log(c,
                      "configuration entry %llu from %llu not explained by the ledger's "
                      "membership (%s): withheld, %u entries before it taken (a follower "
                      "still applying the node.add takes it when the leader sends it again)",
                      (unsigned long long)idx, (unsigned long long)w->from_id, why, j);
            append_cut(a, j);
            return NULL;
        }
    }
    return NULL;
}

bool cons_guard_frame(cons *c, cons_wire *w)
{
    struct raft *r = &c->raft;
    const struct raft_message *m = &w->msg;
    raft_term cur = raft_current_term(r), term = frame_term(m);
    raft_id lid;
    const char *laddr;
    raft_leader(r, &lid, &laddr);
    bool leader = raft_state(r) == RAFT_LEADER;
    /* A leader this node has not heard for an election timeout may have been
     * replaced: a voter would have stood for election by now, but a spare or
     * standby never does, and raft keeps its old leader id for good; without
     * this it would refuse the new leader (and its terms) forever. */
    uint64_t now = cons_now_ms();
    bool quiet = lid == 0 || c->leader_heard_id != lid ||
                 now - c->leader_heard_ms >= (uint64_t)c->cfg.election_ms;
    bool settled = leader || !quiet; /* the network works, as this node sees it */

    const char *why = check_identity(c, w, settled, lid);
    if (!why && settled && term > cur + CONS_TERM_JUMP_MAX)
        why = "term jumps too far ahead of this node's";
    bool from_leader_kind = m->type == RAFT_APPEND_ENTRIES || m->type == RAFT_INSTALL_SNAPSHOT ||
                            m->type == RAFT_TIMEOUT_NOW;
    if (!why && from_leader_kind && term >= cur) {
        if (leader && !(term > cur && raft_transferee(r) == w->from_id))
            why = "a leader's message sent to this node, which leads";
        else if (lid != 0 && lid != w->from_id &&
                 !(term == cur && raft_voted_for(r) == w->from_id) &&
                 !(term > cur && quiet && m->type != RAFT_TIMEOUT_NOW))
            why = "a leader's message from a node that is not the leader this node follows";
    }
    if (!why && m->type == RAFT_APPEND_ENTRIES)
        why = check_append(c, w);
    if (!why) {
        if ((m->type == RAFT_APPEND_ENTRIES || m->type == RAFT_INSTALL_SNAPSHOT) && term >= cur) {
            c->leader_heard_id = w->from_id;
            c->leader_heard_ms = now;
        }
        return true;
    }
    c->msgs_refused++;
    guard_log(c, "refused %s from %llu (%.64s), term %llu (this node: %llu): %s",
              cons_msg_name(m->type), (unsigned long long)w->from_id, w->from_addr,
              (unsigned long long)term, (unsigned long long)cur, why);
    return false;
}

const char *cons_msg_name(int type)
{
    switch (type) {
    case RAFT_REQUEST_VOTE:
        return "RequestVote";
    case RAFT_REQUEST_VOTE_RESULT:
        return "RequestVoteResult";
    case RAFT_APPEND_ENTRIES:
        return "AppendEntries";
    case RAFT_APPEND_ENTRIES_RESULT:
        return "AppendEntriesResult";
    case RAFT_INSTALL_SNAPSHOT:
        return "InstallSnapshot";
    case RAFT_TIMEOUT_NOW:
        return "TimeoutNow";
    }
    return "frame";
}
