/*
 * daemon.h - llmopt-controller's life: leader election on a Postgres
 * advisory lock, consumption of the result topics, decisions persisted then
 * published, heartbeats, admin wake-ups, alerts.
 *
 *   STANDBY --lock taken--> LEADER --lock session lost / fenced / flush failed--> STANDBY
 *
 * Standby: tries pg_try_advisory_lock(controller.lock.name) every
 *   controller.lock.poll on its dedicated lock session; consumes nothing,
 *   publishes nothing. /readyz answers 503 "standby".
 * Leader: takes a new epoch (fencing token), loads every route's version and
 *   state blob, overrides and stored offsets, assigns the input partitions
 *   at those offsets (or at the end/beginning per controller.start.from for
 *   partitions never seen), republishes each route's last persisted
 *   decision (or makes version 1), then loops:
 *     consume (read_committed) -> route inputs (bad records counted, skipped)
 *     NOTIFY on controller.notify.channel -> reload overrides of that route
 *     tick -> breakers; heartbeats of unchanged decisions
 *     decide every touched route -> flush (state + versions + decision log +
 *     offsets, one transaction, epoch-checked) -> publish (idempotent producer)
 *   Any flush failure, lost lock session or fencing returns to STANDBY with
 *   all in-memory state dropped: Postgres holds the truth to resume from.
 *
 * Threads: everything runs on the caller's thread, except /readyz which
 * reads an atomic through llmopt_ctl_ready().
 */
#ifndef LLMOPT_CTL_DAEMON_H
#define LLMOPT_CTL_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

#include "common/config.h"
#include "common/err.h"
#include "common/metrics.h"
#include "controller/ctl_config.h"

typedef struct llmopt_ctl llmopt_ctl;

/* Loads and validates the policy and registry (a bad file fails here, with
 * the JSON path in errstr) and connects to Postgres. conf and cfg must
 * outlive the controller. */
llmopt_ctl *llmopt_ctl_new(const llmopt_controller_conf *conf, const llmopt_config *cfg,
                           llmopt_metrics *metrics, char *errstr, size_t errstr_size);
void llmopt_ctl_destroy(llmopt_ctl *c); /* NULL: no-op */

/* Runs until stop() returns true (then a graceful exit: in-flight decisions
 * flushed and published, lock released). Returns LLMOPT_OK after a stop,
 * an error only when it cannot go on at all (e.g. Postgres unreachable for
 * good). When reload() (may be NULL) returns true, the policy and registry
 * files are read again; if they load, a leader persists every route, sets
 * up again under the new policy without releasing the lock (each route
 * restored from its state, arms carried over by id; a route no longer in
 * the policy stops being published) and a standby just keeps the new
 * policy; if they do not, the running policy stays (logged and counted in
 * llmopt_controller_policy_reload_failures_total). */
llmopt_err_t llmopt_ctl_run(llmopt_ctl *c, bool (*stop)(void), bool (*reload)(void), char *errstr,
                            size_t errstr_size);

/* For /readyz: true while leading with the initial decisions published. */
bool llmopt_ctl_ready(void *c, char *reason, size_t reason_size);

#endif
