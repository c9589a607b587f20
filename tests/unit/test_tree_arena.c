/*
 * test_tree_arena: src/util/tree_arena.c (include/svc/tree_arena.h). jansson's allocations
 * inside a scope come from the thread's arena and go with the scope; outside a scope, in a pause
 * and for large blocks they come from malloc; memory is reused within a scope; a tree freed after
 * its scope ended aborts the process instead of corrupting the next request's.
 * Criterion runs each test in its own process, so each installs the arena before its first JSON
 * value, as main does.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "svc/tree_arena.h"
#include "svc/util.h"

static void install(void)
{
    cr_assert(tree_arena_install(), "the address space for the arenas is reserved");
}

/* A small Service-like tree: a few objects, strings and an array. */
static json_t *sample(int i)
{
    return json_pack("{s:s, s:{s:s, s:i}, s:[{s:i, s:s}]}", "kind", "Service", "metadata", "name",
                     "web", "generation", i, "ports", "port", 80 + i, "protocol", "TCP");
}

Test(tree_arena, values_in_a_scope_are_the_arenas_and_others_are_not)
{
    install();
    json_t *before = json_object();
    tree_arena_begin();
    json_t *inside = json_object();
    json_t *str = json_string("inside");
    tree_arena_pause();
    json_t *paused = json_object();
    tree_arena_resume();
    cr_expect(tree_arena_owns(inside));
    cr_expect(tree_arena_owns(str));
    cr_expect_not(tree_arena_owns(paused), "a pause allocates from malloc");
    cr_expect_not(tree_arena_owns(before));
    cr_expect_gt(tree_arena_used(), 0);
    json_decref(inside);
    json_decref(str);
    json_decref(paused); /* malloc'd memory may be freed inside a scope too */
    tree_arena_end();
    cr_expect_eq(tree_arena_used(), 0, "outside a scope nothing is in use");
    json_t *after = json_object();
    cr_expect_not(tree_arena_owns(after));
    json_decref(before);
    json_decref(after);
}

Test(tree_arena, large_blocks_come_from_malloc)
{
    install();
    tree_arena_begin();
    json_t *arr = json_array();
    for (int i = 0; i < 1000; i++) /* the element table grows past the arena's largest class */
        json_array_append_new(arr, json_integer(i));
    json_t *small = json_integer(1);
    cr_expect(tree_arena_owns(arr));
    cr_expect(tree_arena_owns(small));
    cr_expect_eq(json_integer_value(json_array_get(arr, 999)), 999);
    json_decref(arr);
    json_decref(small);
    tree_arena_end();
}

Test(tree_arena, freed_memory_is_reused_within_a_scope)
{
    install();
    tree_arena_begin();
    json_t *t = sample(0);
    json_decref(t);
    size_t one = tree_arena_used();
    for (int i = 0; i < 10000; i++) {
        t = sample(i);
        cr_assert_eq(
            json_integer_value(json_object_get(json_object_get(t, "metadata"), "generation")), i);
        json_decref(t);
    }
    cr_expect_eq(tree_arena_used(), one, "the same tree built again takes no new memory");
    tree_arena_end();
}

Test(tree_arena, the_end_of_the_outermost_scope_drops_everything)
{
    install();
    tree_arena_begin();
    json_t *kept = sample(1);
    tree_arena_begin(); /* nested: its end keeps the outer scope's memory */
    json_t *inner = sample(2);
    json_decref(inner);
    tree_arena_end();
    cr_expect(tree_arena_used() > 0);
    cr_expect_str_eq(json_string_value(json_object_get(kept, "kind")), "Service",
                     "an inner end leaves the outer scope's trees alone");
    json_decref(kept);
    tree_arena_end();
    cr_expect_eq(tree_arena_used(), 0);
    tree_arena_begin();
    json_t *again = sample(3);
    cr_expect(tree_arena_owns(again));
    json_decref(again);
    tree_arena_end();
}

Test(tree_arena, a_tree_freed_after_its_scope_aborts, .signal = SIGABRT)
{
    install();
    tree_arena_begin();
    json_t *escaped = sample(1);
    tree_arena_end();
    json_decref(escaped); /* outside any scope, as a cache freeing it later would */
}

Test(tree_arena, a_tree_freed_in_a_later_scope_aborts, .signal = SIGABRT)
{
    install();
    tree_arena_begin();
    json_t *escaped = sample(1);
    tree_arena_end();
    tree_arena_begin(); /* the next request on the thread: the old tree is not its own */
    json_decref(escaped);
    tree_arena_end();
}

static void *drop(void *tree)
{
    json_decref(tree);
    return NULL;
}

Test(tree_arena, a_tree_freed_on_another_thread_aborts, .signal = SIGABRT)
{
    install();
    tree_arena_begin();
    json_t *t = sample(1);
    pthread_t th;
    /* The other thread has no scope: freeing the request's tree there is the bug. */
    cr_assert_eq(pthread_create(&th, NULL, drop, t), 0);
    pthread_join(th, NULL);
    tree_arena_end();
}

Test(tree_arena, a_double_free_aborts, .signal = SIGABRT)
{
    install();
    json_malloc_t alloc;
    json_free_t release;
    json_get_alloc_funcs(&alloc, &release);
    tree_arena_begin();
    void *p = alloc(40);
    cr_assert(tree_arena_owns(p));
    release(p);
    release(p);
    tree_arena_end();
}

struct worker {
    pthread_barrier_t *all_in_scope;
    uintptr_t first; /* address of the first value this thread's scope made */
    bool owned, same_after_end;
};

static void *worker_main(void *p)
{
    struct worker *w = p;
    for (int round = 0; round < 2; round++) {
        tree_arena_begin();
        json_t *t = sample(round);
        if (!round) {
            w->first = (uintptr_t)t;
            w->owned = tree_arena_owns(t);
            pthread_barrier_wait(w->all_in_scope); /* every thread's scope open at once */
        } else {
            w->same_after_end = (uintptr_t)t == w->first; /* the scope rewound */
        }
        json_decref(t);
        tree_arena_end();
    }
    return NULL;
}

Test(tree_arena, each_thread_has_its_own_arena)
{
    install();
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, 4);
    struct worker w[4] = {0};
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        w[i].all_in_scope = &barrier;
        cr_assert_eq(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&barrier);
    for (int i = 0; i < 4; i++) {
        cr_expect(w[i].owned, "thread %d", i);
        cr_expect(w[i].same_after_end, "thread %d starts each scope at the same place", i);
        for (int k = 0; k < i; k++)
            cr_expect_neq(w[i].first, w[k].first, "threads %d and %d share memory", k, i);
    }
}

Test(tree_arena, without_install_everything_is_malloc)
{
    /* (no install: tree_arena_begin and the rest change nothing) */
    tree_arena_begin();
    json_t *t = sample(1);
    cr_expect_not(tree_arena_owns(t));
    cr_expect_eq(tree_arena_used(), 0);
    json_decref(t);
    tree_arena_end();
}

Test(tree_arena, ju_dumps_text_is_mallocs_inside_a_scope)
{
    install();
    tree_arena_begin();
    json_t *t = sample(7);
    char *text = ju_dumps(t, JSON_COMPACT | JSON_SORT_KEYS);
    cr_assert_not_null(text);
    cr_expect_not(tree_arena_owns(text), "json_dumps' own text would be the arena's");
    cr_expect_str_eq(text, "{\"kind\":\"Service\",\"metadata\":{\"generation\":7,\"name\":\"web\"},"
                           "\"ports\":[{\"port\":87,\"protocol\":\"TCP\"}]}");
    free(text); /* as every caller does */
    json_decref(t);
    tree_arena_end();
}
