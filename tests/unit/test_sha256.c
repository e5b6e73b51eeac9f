/* test_sha256.c - CUnit suite for common/sha256: the FIPS 180-2 appendix B
 * vectors, every padding boundary against a hashlib golden file
 * (tests/tools/gen_sha256_golden.py), and incremental updates split at every
 * offset agreeing with the one-shot digest. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sha256.h"

static void hex_of(const uint8_t d[LLMOPT_SHA256_LEN], char out[LLMOPT_SHA256_HEX_LEN + 1]) {
    for (int i = 0; i < LLMOPT_SHA256_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void test_fips_vectors(void) {
    char hex[LLMOPT_SHA256_HEX_LEN + 1];
    llmopt_sha256_hex("abc", 3, hex); /* B.1 */
    CU_ASSERT_STRING_EQUAL(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; /* B.2 */
    llmopt_sha256_hex(two, strlen(two), hex);
    CU_ASSERT_STRING_EQUAL(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    llmopt_sha256_hex(NULL, 0, hex);
    CU_ASSERT_STRING_EQUAL(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    /* B.3: one million 'a', fed in uneven pieces */
    char chunk[997];
    memset(chunk, 'a', sizeof(chunk));
    llmopt_sha256 ctx;
    llmopt_sha256_init(&ctx);
    size_t left = 1000000;
    while (left) {
        size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
        llmopt_sha256_update(&ctx, chunk, n);
        left -= n;
    }
    uint8_t d[LLMOPT_SHA256_LEN];
    llmopt_sha256_final(&ctx, d);
    hex_of(d, hex);
    CU_ASSERT_STRING_EQUAL(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_golden_lengths(void) {
    FILE *f = fopen("tests/data/sha256/lengths.txt", "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    uint8_t msg[256];
    for (int i = 0; i < 256; i++)
        msg[i] = (uint8_t)((7 * i + 3) % 256);
    int n, seen = 0;
    char want[LLMOPT_SHA256_HEX_LEN + 1], got[LLMOPT_SHA256_HEX_LEN + 1];
    while (fscanf(f, "%d %64s", &n, want) == 2) {
        CU_ASSERT_FATAL(n >= 0 && n <= 256);
        llmopt_sha256_hex(msg, (size_t)n, got);
        if (strcmp(got, want) != 0)
            fprintf(stderr, "length %d: got %s want %s\n", n, got, want);
        CU_ASSERT_STRING_EQUAL(got, want);
        seen++;
    }
    fclose(f);
    CU_ASSERT_EQUAL(seen, 201);
}

static void test_split_updates(void) {
    uint8_t msg[200];
    for (int i = 0; i < 200; i++)
        msg[i] = (uint8_t)(i * 31 + 1);
    char whole[LLMOPT_SHA256_HEX_LEN + 1], part[LLMOPT_SHA256_HEX_LEN + 1];
    llmopt_sha256_hex(msg, sizeof(msg), whole);
    for (size_t a = 0; a <= sizeof(msg); a += 7) {
        for (size_t b = a; b <= sizeof(msg); b += 13) {
            llmopt_sha256 ctx;
            uint8_t d[LLMOPT_SHA256_LEN];
            llmopt_sha256_init(&ctx);
            llmopt_sha256_update(&ctx, msg, a);
            llmopt_sha256_update(&ctx, msg + a, b - a);
            llmopt_sha256_update(&ctx, NULL, 0);
            llmopt_sha256_update(&ctx, msg + b, sizeof(msg) - b);
            llmopt_sha256_final(&ctx, d);
            hex_of(d, part);
            CU_ASSERT_STRING_EQUAL(part, whole);
        }
    }
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return CU_get_error();
    CU_pSuite s = CU_add_suite("sha256", NULL, NULL);
    CU_add_test(s, "fips 180-2 vectors", test_fips_vectors);
    CU_add_test(s, "golden lengths 0..200", test_golden_lengths);
    CU_add_test(s, "split updates", test_split_updates);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
