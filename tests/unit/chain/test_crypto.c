/* Contract tests for chain.h hashing, keys, signatures, hex/base64url and the
 * label / claim commitments. Known-answer values for the commitments were
 * computed once with an independent CBOR + tagged-SHA-256 implementation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "chain/chain.h"

static void unhex_exact(uint8_t *out, size_t n, const char *hex)
{
    assert_int_equal(chain_unhex(out, n, hex, strlen(hex)), (int)n);
}

static void test_bip340_vector0_verifies_and_pub_matches(void **state)
{
    (void)state;
    uint8_t sk[32], pub[32], want_pub[32], msg[32] = {0}, sig[64];
    unhex_exact(sk, 32, "0000000000000000000000000000000000000000000000000000000000000003");
    unhex_exact(want_pub, 32, "F9308A019258C31049344F85F89D5229B531C845836F99B08601F113BCE036F9");
    unhex_exact(sig, 64,
                "E907831F80848D1069A5371B402410364BDF1C5F8307B0084C55F1CE2DCA8215"
                "25F66A4A85EA8B71E482A74F382D2CE5EBEEE8FDB2172F477DF4900D310536C0");
    assert_int_equal(chain_key_pub(pub, sk), CHAIN_OK);
    assert_memory_equal(pub, want_pub, 32);
    assert_true(chain_verify(sig, pub, msg));
}

static void test_bip340_vector1_verifies(void **state)
{
    (void)state;
    uint8_t pub[32], msg[32], sig[64];
    unhex_exact(pub, 32, "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659");
    unhex_exact(msg, 32, "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89");
    unhex_exact(sig, 64,
                "6896BD60EEAE296DB48A229FF71DFE071BDE413E6D43F917DC8DCF8C78DE3341"
                "8906D11AC976ABCCB20B091292BFF4EA897EFCB639EA871CFA95F6DE339E4B0A");
    assert_true(chain_verify(sig, pub, msg));
    sig[63] ^= 1;
    assert_false(chain_verify(sig, pub, msg));
}

static void test_sign_verify_and_wrong_message_refused(void **state)
{
    (void)state;
    uint8_t sk[32], pub[32], pub2[32], msg[32], sig[64];
    assert_int_equal(chain_key_generate(sk, pub), CHAIN_OK);
    assert_int_equal(chain_key_pub(pub2, sk), CHAIN_OK);
    assert_memory_equal(pub, pub2, 32);
    chain_tagged_hash(msg, CHAIN_TAG_TX, (const uint8_t *)"hello", 5);
    assert_int_equal(chain_sign(sig, sk, msg), CHAIN_OK);
    assert_true(chain_verify(sig, pub, msg));
    msg[0] ^= 1;
    assert_false(chain_verify(sig, pub, msg));
    msg[0] ^= 1;
    uint8_t other_sk[32], other_pub[32];
    assert_int_equal(chain_key_generate(other_sk, other_pub), CHAIN_OK);
    assert_false(chain_verify(sig, other_pub, msg));
}

static void test_invalid_seckey_refused(void **state)
{
    (void)state;
    uint8_t zero[32] = {0}, pub[32] = {0}, sig[64], msg[32] = {0};
    assert_int_equal(chain_key_pub(pub, zero), CHAIN_ERR_INVALID);
    assert_int_equal(chain_sign(sig, zero, msg), CHAIN_ERR_INVALID);
    uint8_t order[32]; /* the group order n is not a valid key */
    unhex_exact(order, 32, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141");
    assert_int_equal(chain_key_pub(pub, order), CHAIN_ERR_INVALID);
}

static void test_verify_refuses_pub_not_on_curve(void **state)
{
    (void)state;
    uint8_t pub[32], msg[32] = {0}, sig[64] = {1};
    /* x = 5 has no point on secp256k1 */
    memset(pub, 0, sizeof pub);
    pub[31] = 5;
    assert_false(chain_verify(sig, pub, msg));
}

static void test_tagged_hash_known_answer(void **state)
{
    (void)state;
    uint8_t h[32], want[32];
    chain_tagged_hash(h, CHAIN_TAG_TX, (const uint8_t *)"abc", 3);
    unhex_exact(want, 32, "ab3b753d67a1de826ee7d62fdbe1b5fd1883bf6609348a93435c115485f0f30a");
    assert_memory_equal(h, want, 32);
    uint8_t h2[32];
    chain_tagged_hash(h2, CHAIN_TAG_BLOCK, (const uint8_t *)"abc", 3);
    assert_memory_not_equal(h, h2, 32);
}

static void test_label_hash_known_answer(void **state)
{
    (void)state;
    uint8_t cid[32], h[32], want[32];
    for (int i = 0; i < 32; i++)
        cid[i] = (uint8_t)i;
    chain_label_hash(h, cid, "09506000134352", "AB12", "L1", "261231");
    unhex_exact(want, 32, "f53acad932a5838f61995da27653095aa0a366cf5241066c741a85df47e925de");
    assert_memory_equal(h, want, 32);
}

/* Vectors from an independent implementation (Python hashlib for the tagged
 * hashes, pyca/cryptography's SECP256K1 for the public key). */
static void test_claim_key_known_answer(void **state)
{
    (void)state;
    uint8_t sk[32], pub[32], want_sk[32], want_pub[32];
    /* "abcd-iefg o hjk" reads as ABCD1EFG0HJK */
    assert_int_equal(chain_claim_key(sk, pub, "09506000134352", "AB12", "abcd-iefg o hjk", 15),
                     CHAIN_OK);
    unhex_exact(want_sk, 32, "7be8e8f9bfeb5bc5ee3f7f7595661610c653bd5905579a5998ea8633d4670071");
    unhex_exact(want_pub, 32, "c6941a5e3c650123d04ebed7899045e7b86eb54df6bad49c795f1371426ab64b");
    assert_memory_equal(sk, want_sk, 32);
    assert_memory_equal(pub, want_pub, 32);
    /* another unit, same code: another key (unit-bound) */
    assert_int_equal(chain_claim_key(sk, pub, "09506000134352", "AB13", "ABCD1EFG0HJK", 12),
                     CHAIN_OK);
    assert_memory_not_equal(pub, want_pub, 32);
}

static void test_claim_msg_known_answer(void **state)
{
    (void)state;
    uint8_t cid[32], owner[32], h[32], want[32];
    for (int i = 0; i < 32; i++)
        cid[i] = (uint8_t)i;
    memset(owner, 0xaa, sizeof owner);
    chain_claim_msg(h, cid, "09506000134352", "AB12", owner);
    unhex_exact(want, 32, "e658c8c35313601eacd8143a3149013b5962013e56315046641ad6bea8216902");
    assert_memory_equal(h, want, 32);
}

static void test_code_normalize_as_crockford(void **state)
{
    (void)state;
    char out[CHAIN_CODE_MAX + 1];
    static const struct {
        const char *in, *want;
    } ok[] = {
        {"ABCD-EFGH", "ABCDEFGH"},
        {"abcd efgh", "ABCDEFGH"},
        {"iIlL", "1111"},
        {"oO0", "000"},
        {" -a- ", "A"},
        {"Z9", "Z9"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        assert_int_equal(chain_code_normalize(out, sizeof out, ok[i].in, strlen(ok[i].in)),
                         (int)strlen(ok[i].want));
        assert_string_equal(out, ok[i].want);
    }
    static const char *const bad[] = {"", "- -", "AU", "a_b", "é", "a\tb", "a.b"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(chain_code_normalize(out, sizeof out, bad[i], strlen(bad[i])), -1);
    /* exactly CHAIN_CODE_MAX characters after normalization, and one more */
    char in[2 * CHAIN_CODE_MAX + 2];
    memset(in, 'A', CHAIN_CODE_MAX);
    memset(in + CHAIN_CODE_MAX, '-', CHAIN_CODE_MAX); /* dashes do not count */
    assert_int_equal(chain_code_normalize(out, sizeof out, in, 2 * CHAIN_CODE_MAX), CHAIN_CODE_MAX);
    in[2 * CHAIN_CODE_MAX] = 'A';
    assert_int_equal(chain_code_normalize(out, sizeof out, in, 2 * CHAIN_CODE_MAX + 1), -1);
    uint8_t sk[32], pub[32];
    assert_int_equal(chain_claim_key(sk, pub, "09506000134352", "AB12", "AU", 2),
                     CHAIN_ERR_INVALID);
}

static void test_hex_roundtrip_and_refusals(void **state)
{
    (void)state;
    uint8_t in[3] = {0x00, 0xab, 0xff}, out[3];
    char hex[7];
    chain_hex(hex, in, 3);
    assert_string_equal(hex, "00abff");
    assert_int_equal(chain_unhex(out, 3, "00ABff", 6), 3);
    assert_memory_equal(in, out, 3);
    assert_int_equal(chain_unhex(out, 3, "00a", 3), -1);    /* odd length */
    assert_int_equal(chain_unhex(out, 3, "00abzz", 6), -1); /* bad character */
    assert_int_equal(chain_unhex(out, 2, "00abff", 6), -1); /* overflow */
}

static void test_b64url_roundtrip_and_refusals(void **state)
{
    (void)state;
    uint8_t in[64], out[64];
    char enc[4 * 22 + 1];
    for (int i = 0; i < 64; i++)
        in[i] = (uint8_t)(i * 37 + 11);
    for (size_t n = 0; n <= 64; n++) {
        chain_b64url(enc, in, n);
        assert_null(strchr(enc, '='));
        assert_int_equal(chain_unb64url(out, sizeof out, enc, strlen(enc)), (int)n);
        assert_memory_equal(in, out, n);
    }
    chain_b64url(enc, (const uint8_t *)"\xfb\xff", 2);
    assert_string_equal(enc, "-_8");
    assert_int_equal(chain_unb64url(out, sizeof out, "a", 1), -1);    /* impossible length */
    assert_int_equal(chain_unb64url(out, sizeof out, "ab+/", 4), -1); /* std alphabet */
    assert_int_equal(chain_unb64url(out, sizeof out, "AB", 2), -1);   /* nonzero pad bits */
    assert_int_equal(chain_unb64url(out, 1, "AAAA", 4), -1);          /* overflow */
}

/* chain_signer: its signatures verify like chain_sign's, differ per call
 * (fresh aux randomness), and an invalid key is refused. */
static void test_signer_signs_what_verify_accepts(void **state)
{
    (void)state;
    uint8_t sk[CHAIN_SECKEY_LEN], pub[CHAIN_KEY_LEN], msg[CHAIN_HASH_LEN], other[CHAIN_HASH_LEN];
    uint8_t s1[CHAIN_SIG_LEN], s2[CHAIN_SIG_LEN];
    assert_int_equal(chain_key_generate(sk, pub), CHAIN_OK);
    memset(msg, 0x42, sizeof msg);
    memset(other, 0x43, sizeof other);
    chain_signer *sg = NULL;
    assert_int_equal(chain_signer_new(&sg, sk), CHAIN_OK);
    assert_int_equal(chain_signer_sign(sg, s1, msg), CHAIN_OK);
    assert_int_equal(chain_signer_sign(sg, s2, msg), CHAIN_OK);
    assert_true(chain_verify(s1, pub, msg));
    assert_true(chain_verify(s2, pub, msg));
    assert_memory_not_equal(s1, s2, CHAIN_SIG_LEN);
    assert_false(chain_verify(s1, pub, other));
    chain_signer_free(sg);
    chain_signer_free(NULL);
    uint8_t zero[CHAIN_SECKEY_LEN] = {0};
    sg = NULL;
    assert_int_equal(chain_signer_new(&sg, zero), CHAIN_ERR_INVALID);
    assert_null(sg);
}

/* The commitments refuse arguments longer than their fields: the all-zero
 * hash (no signature ever matches it) or CHAIN_ERR_INVALID, never a
 * truncated or overflowing encoding. At the bound they are ordinary. */
static void test_commitments_at_and_past_field_bounds(void **state)
{
    (void)state;
    uint8_t chain_id[32], h[32], zero[32] = {0}, owner[32], sk[32], pub[32];
    memset(chain_id, 0xc1, sizeof chain_id);
    memset(owner, 0x0a, sizeof owner);
    char serial20[GS1_SERIAL_MAX + 1], serial21[GS1_SERIAL_MAX + 2], lot20[GS1_LOT_MAX + 1],
        lot21[GS1_LOT_MAX + 2];
    memset(serial20, 'S', GS1_SERIAL_MAX);
    serial20[GS1_SERIAL_MAX] = '\0';
    memset(serial21, 'S', GS1_SERIAL_MAX + 1);
    serial21[GS1_SERIAL_MAX + 1] = '\0';
    memset(lot20, 'L', GS1_LOT_MAX);
    lot20[GS1_LOT_MAX] = '\0';
    memset(lot21, 'L', GS1_LOT_MAX + 1);
    lot21[GS1_LOT_MAX + 1] = '\0';
    const char *g = "09506000134352";
    chain_label_hash(h, chain_id, g, serial20, lot20, "281231");
    assert_memory_not_equal(h, zero, 32);
    chain_label_hash(h, chain_id, "095060001343521", serial20, lot20, "281231");
    assert_memory_equal(h, zero, 32);
    chain_label_hash(h, chain_id, g, serial21, lot20, "281231");
    assert_memory_equal(h, zero, 32);
    chain_label_hash(h, chain_id, g, serial20, lot21, "281231");
    assert_memory_equal(h, zero, 32);
    chain_label_hash(h, chain_id, g, serial20, lot20, "2812310");
    assert_memory_equal(h, zero, 32);
    chain_claim_msg(h, chain_id, g, serial20, owner);
    assert_memory_not_equal(h, zero, 32);
    chain_claim_msg(h, chain_id, "095060001343521", serial20, owner);
    assert_memory_equal(h, zero, 32);
    chain_claim_msg(h, chain_id, g, serial21, owner);
    assert_memory_equal(h, zero, 32);
    assert_int_equal(chain_claim_key(sk, pub, g, serial20, "ABCD-2345", 9), CHAIN_OK);
    assert_int_equal(chain_claim_key(sk, pub, g, serial21, "ABCD-2345", 9), CHAIN_ERR_INVALID);
    assert_int_equal(chain_claim_key(sk, pub, "095060001343521", serial20, "ABCD-2345", 9),
                     CHAIN_ERR_INVALID);
    assert_int_equal(chain_claim_key(sk, pub, g, serial20, "ABCU", 4), CHAIN_ERR_INVALID);
    assert_int_equal(chain_claim_key(sk, pub, g, serial20, "--", 2), CHAIN_ERR_INVALID);
    /* a code of CHAIN_CODE_MAX characters normalizes, one more does not; nor
     * does one that does not fit the caller's buffer */
    char code[CHAIN_CODE_MAX + 2], out[CHAIN_CODE_MAX + 1];
    memset(code, 'z', sizeof code);
    assert_int_equal(chain_code_normalize(out, sizeof out, code, CHAIN_CODE_MAX), CHAIN_CODE_MAX);
    assert_int_equal(chain_code_normalize(out, sizeof out, code, CHAIN_CODE_MAX + 1), -1);
    char small[4];
    assert_int_equal(chain_code_normalize(small, sizeof small, "abc", 3), 3);
    assert_int_equal(chain_code_normalize(small, sizeof small, "abcd", 4), -1);
    assert_int_equal(chain_code_normalize(small, sizeof small, "a-b c", 5), 3);
    assert_string_equal(small, "ABC");
    assert_int_equal(chain_code_normalize(small, sizeof small, "a*", 2), -1);
    assert_int_equal(chain_code_normalize(small, sizeof small, "", 0), -1);
}

/* Hex, percent and base64url decoding at every character-class edge. */
static void test_decoders_character_edges(void **state)
{
    (void)state;
    uint8_t b[8];
    assert_int_equal(chain_unhex(b, sizeof b, "09afAF", 6), 3);
    assert_int_equal(b[0], 0x09);
    assert_int_equal(b[1], 0xaf);
    assert_int_equal(b[2], 0xaf);
    static const char *const bad_hex[] = {"/0", "0:", "`0", "0g", "@0", "0G"};
    for (size_t i = 0; i < sizeof bad_hex / sizeof *bad_hex; i++)
        assert_int_equal(chain_unhex(b, sizeof b, bad_hex[i], 2), -1);
    assert_int_equal(chain_unhex(b, 2, "000000", 6), -1); /* longer than out */
    assert_int_equal(chain_unhex(b, 8, "000", 3), -1);    /* odd */
    char o[8];
    assert_int_equal(chain_pct_decode(o, sizeof o, "a%2Fb%2fc", 9), 5);
    assert_string_equal(o, "a/b/c");
    assert_int_equal(chain_pct_decode(o, sizeof o, "%G0", 3), -1);
    assert_int_equal(chain_pct_decode(o, sizeof o, "%0G", 3), -1);
    assert_int_equal(chain_pct_decode(o, sizeof o, "ab%2", 4), -1);
    assert_int_equal(chain_pct_decode(o, sizeof o, "%00", 3), -1);
    assert_int_equal(chain_pct_decode(o, 4, "abc", 3), 3); /* cap holds 3 and the NUL */
    assert_int_equal(chain_pct_decode(o, 3, "abc", 3), -1);
    assert_int_equal(chain_pct_decode(o, 1, "", 0), 0);
    assert_int_equal(chain_pct_decode(o, 0, "", 0), -1);
    assert_int_equal(chain_unb64url(b, sizeof b, "AZaz09-_", 8), 6);
    static const char *const bad_b64[] = {"AA@A", "AA[A", "AA`A", "AA{A", "AA/A", "AA:A",
                                          "AA+A", "AA=A"};
    for (size_t i = 0; i < sizeof bad_b64 / sizeof *bad_b64; i++)
        assert_int_equal(chain_unb64url(b, sizeof b, bad_b64[i], 4), -1);
    assert_int_equal(chain_unb64url(b, sizeof b, "AAAAA", 5), -1); /* 4k+1 characters */
    assert_int_equal(chain_unb64url(b, 2, "AAAA", 4), -1);         /* 3 bytes into 2 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bip340_vector0_verifies_and_pub_matches),
        cmocka_unit_test(test_bip340_vector1_verifies),
        cmocka_unit_test(test_sign_verify_and_wrong_message_refused),
        cmocka_unit_test(test_signer_signs_what_verify_accepts),
        cmocka_unit_test(test_invalid_seckey_refused),
        cmocka_unit_test(test_verify_refuses_pub_not_on_curve),
        cmocka_unit_test(test_tagged_hash_known_answer),
        cmocka_unit_test(test_label_hash_known_answer),
        cmocka_unit_test(test_claim_key_known_answer),
        cmocka_unit_test(test_claim_msg_known_answer),
        cmocka_unit_test(test_code_normalize_as_crockford),
        cmocka_unit_test(test_hex_roundtrip_and_refusals),
        cmocka_unit_test(test_b64url_roundtrip_and_refusals),
        cmocka_unit_test(test_commitments_at_and_past_field_bounds),
        cmocka_unit_test(test_decoders_character_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
