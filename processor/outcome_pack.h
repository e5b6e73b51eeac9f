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
/* Reads one packed outcome into o (cleared first; strings go to its
 * arena). Errors in r->err (TRUNCATED, INVALID, NOMEM). */
void llmopt_outcome_unpack(llmopt_rbuf *r, llmopt_outcome *o);

/* A join-state record: one allocation holding an outcome whose strings and
 * context items point into the same block, so the engine reads and changes
 * a waiting request / orphan response / outcome awaiting feedback in place
 * (no pack/unpack round trip, no string copies per matched pair). The
 * outcome's arena is unused (zero): never allocate through it. The record
 * must not be copied by value (its pointers refer to itself). */
typedef struct llmopt_jrec {
    uint32_t updates; /* reward updates emitted so far */
    uint32_t bytes;   /* size of the allocation, the accounted join payload */
    llmopt_outcome o;
} llmopt_jrec;

/* A copy of o (strings and context into the record; NULL optionals stay
 * NULL), or NULL when out of memory. free() releases it. */
llmopt_jrec *llmopt_jrec_of_outcome(const llmopt_outcome *o, uint32_t updates);
/* The outcome a request alone makes: outcome_id = request_id, required
 * strings never NULL (an absent one becomes ""), optional ones NULL when
 * absent, the context only when has_context, every response, reward and
 * feedback field zero. NULL when out of memory. */
llmopt_jrec *llmopt_jrec_of_request(const llmopt_request *r);
/* Checkpoint form: updates, then the outcome packed. */
void llmopt_jrec_write(const llmopt_jrec *j, llmopt_wbuf *w);
/* Reads one record written by llmopt_jrec_write (errors in r->err; NULL
 * then). tmp is scratch for the unpack (its arena keeps memory). */
llmopt_jrec *llmopt_jrec_read(llmopt_rbuf *r, llmopt_outcome *tmp);

#endif
