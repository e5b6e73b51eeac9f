/*
 * arena.h - bump allocator that owns the strings, arrays and maps of one
 * decoded record (see common/records.h).
 *
 * Invariants: memory handed out stays valid and unmoved until
 * llmopt_arena_reset() or llmopt_arena_release(); every block is 8-byte
 * aligned. reset() keeps one block (the largest so far, grown to the total
 * used) so a record decoded again and again reaches a steady state with no
 * malloc at all. A zeroed arena is a valid empty arena (llmopt_arena_init
 * just zeroes it). Not thread-safe: one owner at a time.
 */
#ifndef LLMOPT_ARENA_H
#define LLMOPT_ARENA_H

#include <stddef.h>

typedef struct llmopt_arena_block llmopt_arena_block;

typedef struct llmopt_arena {
    llmopt_arena_block *head; /* newest block first; owned */
    char *ptr;                /* next free byte in head */
    char *end;                /* end of head's usable bytes */
    size_t used;              /* bytes handed out since the last reset */
} llmopt_arena;

void llmopt_arena_init(llmopt_arena *a);
/* Frees every block; the arena is left empty and reusable. */
void llmopt_arena_release(llmopt_arena *a);
/* Forgets every allocation but keeps (at most) one block for reuse. */
void llmopt_arena_reset(llmopt_arena *a);
/* n bytes, 8-aligned, uninitialised; NULL when malloc fails. n == 0 gives a
 * valid non-NULL pointer. */
void *llmopt_arena_alloc(llmopt_arena *a, size_t n);
/* Copy of s[0..len) followed by a NUL; NULL when malloc fails. */
char *llmopt_arena_strdup(llmopt_arena *a, const char *s, size_t len);

#endif
