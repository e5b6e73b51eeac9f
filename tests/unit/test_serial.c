/* test_serial.c - CUnit suite for processor/core/serial: exact round trips
 * and bounds checking. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "processor/core/serial.h"

static void test_roundtrip(void) {
    llmopt_wbuf w;
    llmopt_wbuf_init(&w);
    llmopt_wbuf_header(&w, "TEST", 1);
    llmopt_wbuf_u8(&w, 0xab);
    llmopt_wbuf_u32(&w, 0xdeadbeef);
    llmopt_wbuf_u64(&w, 0x0123456789abcdefULL);
    llmopt_wbuf_i64(&w, -42);
    llmopt_wbuf_f64(&w, 0.1);
    llmopt_wbuf_f64(&w, -INFINITY);
    CU_ASSERT_EQUAL(w.err, 0);
    CU_ASSERT_EQUAL(w.len, 5 + 1 + 4 + 8 + 8 + 8 + 8);
    /* little-endian on the wire, whatever the host */
    CU_ASSERT_EQUAL(w.data[6], 0xef);
    CU_ASSERT_EQUAL(w.data[9], 0xde);

    llmopt_rbuf r;
    llmopt_rbuf_init(&r, w.data, w.len);
    CU_ASSERT_EQUAL(llmopt_rbuf_header(&r, "TEST", 1), 1);
    CU_ASSERT_EQUAL(llmopt_rbuf_u8(&r), 0xab);
    CU_ASSERT_EQUAL(llmopt_rbuf_u32(&r), 0xdeadbeef);
    CU_ASSERT_EQUAL(llmopt_rbuf_u64(&r), 0x0123456789abcdefULL);
    CU_ASSERT_EQUAL(llmopt_rbuf_i64(&r), -42);
    CU_ASSERT_EQUAL(llmopt_rbuf_f64(&r), 0.1);
    CU_ASSERT(isinf(llmopt_rbuf_f64(&r)));
    CU_ASSERT_EQUAL(r.err, 0);
    CU_ASSERT_EQUAL(r.left, 0);
    llmopt_wbuf_release(&w);
}

static void test_truncated_and_bad_header(void) {
    uint8_t b[6] = {'T', 'E', 'S', 'T', 2, 0};
    llmopt_rbuf r;
    llmopt_rbuf_init(&r, b, sizeof(b));
    CU_ASSERT_EQUAL(llmopt_rbuf_header(&r, "TEST", 1), 0); /* version too new */
    CU_ASSERT_EQUAL(r.err, LLMOPT_ERR_INVALID);

    llmopt_rbuf_init(&r, b, 3);
    CU_ASSERT_EQUAL(llmopt_rbuf_u32(&r), 0);
    CU_ASSERT_EQUAL(r.err, LLMOPT_ERR_TRUNCATED);
    CU_ASSERT_EQUAL(llmopt_rbuf_u8(&r), 0); /* sticky */

    /* a count claiming more elements than bytes left is refused */
    uint8_t c[8] = {0xff, 0xff, 0xff, 0x00, 1, 2, 3, 4};
    llmopt_rbuf_init(&r, c, sizeof(c));
    CU_ASSERT_EQUAL(llmopt_rbuf_count(&r, 1u << 30, 8), 0);
    CU_ASSERT_EQUAL(r.err, LLMOPT_ERR_INVALID);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("serial", NULL, NULL);
    CU_add_test(s, "roundtrip", test_roundtrip);
    CU_add_test(s, "truncated_and_bad_header", test_truncated_and_bad_header);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
