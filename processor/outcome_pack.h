/*
 * outcome_pack.h - the compact binary form of an Outcome that the engine
 * keeps in its join tables (a waiting request, an orphan response, an
 * outcome awaiting feedback) and writes into checkpoints.
 *
 * Internal to the processor: not a wire format; it changes with the
 * checkpoint version ("ENGN"). Strings are length-prefixed, optional fields
 * carry a presence flag, doubles are bit-exact.
 */
#ifndef LLMOPT_OUTCOME_PACK_H
#define LLMOPT_OUTCOME_PACK_H

#include "common/records.h"
#include "processor/core/serial.h"

/* Appends o; errors in w->err. */
void llmopt_outcome_pack(const llmopt_outcome *o, llmopt_wbuf *w);
/* Appends the outcome a request alone makes, byte for byte what packing
 * a cleared outcome filled from r would give (outcome_id = request_id,
 * required strings never NULL, optional ones NULL when absent, every
 * response, reward and feedback field zero), without building it. */
void llmopt_outcome_pack_request(const llmopt_request *r, llmopt_wbuf *w);
/* Reads one packed outcome into o (cleared first; strings go to its
 * arena). Errors in r->err (TRUNCATED, INVALID, NOMEM). */
void llmopt_outcome_unpack(llmopt_rbuf *r, llmopt_outcome *o);

#endif
