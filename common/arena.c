/* arena.c - see arena.h. */
#include "common/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct llmopt_arena_block {
    llmopt_arena_block *next;
    size_t size;               /* usable bytes after the header */
    _Alignas(8) char data[];
};

#define ARENA_MIN_BLOCK 1024

void llmopt_arena_init(llmopt_arena *a) {
    memset(a, 0, sizeof(*a));
}

void llmopt_arena_release(llmopt_arena *a) {
    llmopt_arena_block *b = a->head;
    while (b) {
        llmopt_arena_block *next = b->next;
        free(b);
        b = next;
    }
    memset(a, 0, sizeof(*a));
}

void llmopt_arena_reset(llmopt_arena *a) {
    if (!a->head)
        return;
    if (a->head->next) {
        /* Several blocks: replace them by one big enough for everything this
         * record needed, so the next decode of a similar record is one block. */
        size_t want = a->used;
        llmopt_arena_release(a);
        llmopt_arena_block *b = malloc(sizeof(*b) + want);
        if (!b)
            return; /* stay empty; the next alloc retries */
        b->next = NULL;
        b->size = want;
        a->head = b;
    }
    a->ptr = a->head->data;
    a->end = a->head->data + a->head->size;
    a->used = 0;
}

void *llmopt_arena_alloc(llmopt_arena *a, size_t n) {
    size_t rounded = (n + 7) & ~(size_t)7;
    if (rounded < n)
        return NULL;
    if (!a->head || (size_t)(a->end - a->ptr) < rounded) {
        size_t size = ARENA_MIN_BLOCK;
        if (a->head && a->head->size * 2 > size)
            size = a->head->size * 2;
        if (size < rounded)
            size = rounded;
        if (size > SIZE_MAX - sizeof(llmopt_arena_block))
            return NULL;
        llmopt_arena_block *b = malloc(sizeof(*b) + size);
        if (!b)
            return NULL;
        b->next = a->head;
        b->size = size;
        a->head = b;
        a->ptr = b->data;
        a->end = b->data + size;
    }
    void *p = a->ptr;
    a->ptr += rounded;
    a->used += rounded;
    return p;
}

char *llmopt_arena_strdup(llmopt_arena *a, const char *s, size_t len) {
    if (len == SIZE_MAX)
        return NULL;
    char *p = llmopt_arena_alloc(a, len + 1);
    if (!p)
        return NULL;
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}
