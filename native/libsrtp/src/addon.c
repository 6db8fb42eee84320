/*
 * Node-API (C, no C++) binding of the system libsrtp2, used as the interop oracle in tests and the
 * native baseline in benchmarks.
 *
 *   new Session({ profile, direction, ssrc?, keys: [{ key, mki? }], windowSize?, allowRepeatTx? })
 *   session.protect(buf, len, mkiIndex = 0)      -> new length   (SRTP, in place)
 *   session.unprotect(buf, len)                  -> new length
 *   session.protectRtcp(buf, len, mkiIndex = 0)  -> new length   (SRTCP, in place)
 *   session.unprotectRtcp(buf, len)              -> new length
 *   session.setRoc(ssrc, roc) / session.getRoc(ssrc) -> roc
 *   session.close()                              (idempotent; every other method throws afterwards)
 *   version()                                    -> srtp_get_version_string()
 *
 * Packets are processed IN PLACE in the caller's Uint8Array; `len` is the current packet length and
 * the bytes after it are spare capacity for the trailer. The per-packet path does no allocation in C.
 *
 * Errors: libsrtp failures throw an Error with code 'srtp_err_status_<name>' and numeric `status`;
 * too little spare capacity throws code 'ERR_CAPACITY'; bad arguments throw a TypeError with code
 * 'ERR_INVALID_ARG'; use after close() throws code 'ERR_CLOSED'.
 */
#include <node_api.h>
#include <srtp2/srtp.h>

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SRTCP appends a 4-byte E-flag||index word before the (MKI and) tag. */
#define SRTCP_INDEX_LEN 4
#define RTP_HEADER_MIN 12
#define RTCP_HEADER_MIN 8

/* ---------------------------------------------------------------- errors */

/* Names of srtp_err_status_t values 0..27 (srtp2/srtp.h, libsrtp 2.5). */
static const char *const kStatusNames[] = {
    "ok",          "fail",         "bad_param",    "alloc_fail",   "dealloc_fail", "init_fail",
    "terminus",    "auth_fail",    "cipher_fail",  "replay_fail",  "replay_old",   "algo_fail",
    "no_such_op",  "no_ctx",       "cant_check",   "key_expired",  "socket_err",   "signal_err",
    "nonce_bad",   "read_fail",    "write_fail",   "parse_err",    "encode_err",   "semaphore_err",
    "pfkey_err",   "bad_mki",      "pkt_idx_old",  "pkt_idx_adv",
};
#define STATUS_COUNT (sizeof(kStatusNames) / sizeof(kStatusNames[0]))

/* Throw Error{ code: 'srtp_err_status_<name>', status: <n> } for a libsrtp failure. Returns NULL. */
static napi_value throw_srtp(napi_env env, const char *op, srtp_err_status_t st) {
    char code[64], msg[128];
    const char *name = ((unsigned)st < STATUS_COUNT) ? kStatusNames[st] : "unknown";
    snprintf(code, sizeof code, "srtp_err_status_%s", name);
    snprintf(msg, sizeof msg, "libsrtp %s failed: %s (%d)", op, code, (int)st);

    napi_value js_code, js_msg, js_status, err;
    if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &js_code) != napi_ok ||
        napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &js_msg) != napi_ok ||
        napi_create_error(env, js_code, js_msg, &err) != napi_ok ||
        napi_create_int32(env, (int32_t)st, &js_status) != napi_ok ||
        napi_set_named_property(env, err, "status", js_status) != napi_ok) {
        napi_throw_error(env, code, msg); /* fallback: at least the code survives */
        return NULL;
    }
    napi_throw(env, err);
    return NULL;
}

static napi_value throw_arg(napi_env env, const char *msg) {
    napi_throw_type_error(env, "ERR_INVALID_ARG", msg);
    return NULL;
}

/* A Node-API call itself failed: rethrow its pending exception or describe the failure. */
static napi_value throw_napi(napi_env env) {
    const napi_extended_error_info *info = NULL;
    napi_get_last_error_info(env, &info);
    const char *msg = (info && info->error_message) ? info->error_message : "Node-API call failed";
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, "ERR_NAPI", msg);
    return NULL;
}

#define NAPI_CALL(env, call)                  \
    do {                                      \
        if ((call) != napi_ok) return throw_napi(env); \
    } while (0)

/* ------------------------------------------------------------ arg helpers */

/* A JS number that is an integer in [0, max]. */
static bool get_uint(napi_env env, napi_value v, double max, uint32_t *out) {
    napi_valuetype t;
    double d;
    if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return false;
    if (napi_get_value_double(env, v, &d) != napi_ok) return false;
    if (!(d >= 0 && d <= max) || floor(d) != d) return false;
    *out = (uint32_t)d;
    return true;
}

/* A Uint8Array (Buffer included): its data pointer (already offset to the view) and byte length. */
static bool get_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len) {
    bool is_ta = false;
    napi_typedarray_type type;
    void *ptr = NULL;
    if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return false;
    if (napi_get_typedarray_info(env, v, &type, len, &ptr, NULL, NULL) != napi_ok) return false;
    if (type != napi_uint8_array) return false;
    *data = ptr;
    return true;
}

/* Named property of obj, or NULL when missing/undefined. */
static napi_value get_opt(napi_env env, napi_value obj, const char *name) {
    napi_value v;
    napi_valuetype t;
    if (napi_get_named_property(env, obj, name, &v) != napi_ok) return NULL;
    if (napi_typeof(env, v, &t) != napi_ok || t == napi_undefined) return NULL;
    return v;
}

/* ---------------------------------------------------------------- session */

typedef struct {
    srtp_t ctx;       /* NULL once closed */
    uint32_t use_mki; /* 1 when the policy's keys carry MKIs */
} session_t;

static pthread_once_t g_init_once = PTHREAD_ONCE_INIT;
static srtp_err_status_t g_init_status = srtp_err_status_ok;
static void do_srtp_init(void) { g_init_status = srtp_init(); }

static void session_finalize(napi_env env, void *data, void *hint) {
    session_t *s = data;
    if (s->ctx) srtp_dealloc(s->ctx);
    free(s);
}

/* new Session(policy) */
static napi_value session_new(napi_env env, napi_callback_info info) {
    size_t argc = 1;
    napi_value argv[1], self, target;
    NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
    NAPI_CALL(env, napi_get_new_target(env, info, &target));
    if (target == NULL) return throw_arg(env, "Session must be called with new");

    pthread_once(&g_init_once, do_srtp_init); /* srtp_init once per process */
    if (g_init_status != srtp_err_status_ok) return throw_srtp(env, "srtp_init", g_init_status);

    napi_valuetype t;
    if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_object)
        return throw_arg(env, "policy must be an object");
    napi_value pol = argv[0], v;

    srtp_policy_t policy;
    memset(&policy, 0, sizeof policy);

    /* profile -> RTP and RTCP crypto policies */
    char str[40];
    size_t n = 0;
    if (!(v = get_opt(env, pol, "profile")) ||
        napi_get_value_string_utf8(env, v, str, sizeof str, &n) != napi_ok)
        return throw_arg(env, "policy.profile must be a string");
    /* RTP gets the named profile. RTCP always gets the 80-bit tag: RFC 4568 defines SRTCP with an
     * 80-bit tag for the _32 suites too (same as libsrtp's srtp_crypto_policy_set_from_profile_for_rtcp).
     * (srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80 is a macro in libsrtp 2.5, hence no fn pointers.) */
    if (!strcmp(str, "AES_CM_128_HMAC_SHA1_80")) {
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
    } else if (!strcmp(str, "AES_CM_128_HMAC_SHA1_32")) {
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
    } else if (!strcmp(str, "AES_256_CM_HMAC_SHA1_80")) {
        srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&policy.rtp);
        srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&policy.rtcp);
    } else if (!strcmp(str, "AES_256_CM_HMAC_SHA1_32")) {
        srtp_crypto_policy_set_aes_cm_256_hmac_sha1_32(&policy.rtp);
        srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&policy.rtcp);
    } else {
        return throw_arg(env, "policy.profile: unknown profile");
    }

    /* direction + optional ssrc */
    bool inbound;
    if (!(v = get_opt(env, pol, "direction")) ||
        napi_get_value_string_utf8(env, v, str, sizeof str, &n) != napi_ok)
        return throw_arg(env, "policy.direction must be 'inbound' or 'outbound'");
    if (!strcmp(str, "inbound")) inbound = true;
    else if (!strcmp(str, "outbound")) inbound = false;
    else return throw_arg(env, "policy.direction must be 'inbound' or 'outbound'");
    if ((v = get_opt(env, pol, "ssrc"))) {
        uint32_t ssrc;
        if (!get_uint(env, v, 4294967295.0, &ssrc)) return throw_arg(env, "policy.ssrc must be a uint32");
        policy.ssrc.type = ssrc_specific;
        policy.ssrc.value = ssrc;
    } else {
        policy.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
    }

    /* keys: master key||salt each, optional MKIs (all or none, all the same length). libsrtp copies
     * what it needs during srtp_create, so pointing into the JS buffers for the call is enough. */
    bool is_arr = false;
    uint32_t nkeys = 0;
    napi_value keys_v;
    if (!(keys_v = get_opt(env, pol, "keys")) || napi_is_array(env, keys_v, &is_arr) != napi_ok ||
        !is_arr || napi_get_array_length(env, keys_v, &nkeys) != napi_ok || nkeys < 1 ||
        nkeys > SRTP_MAX_NUM_MASTER_KEYS)
        return throw_arg(env, "policy.keys must be an array of 1..16 { key, mki? }");
    srtp_master_key_t mk[SRTP_MAX_NUM_MASTER_KEYS];
    srtp_master_key_t *mkp[SRTP_MAX_NUM_MASTER_KEYS];
    uint32_t with_mki = 0;
    size_t mki_len = 0;
    for (uint32_t i = 0; i < nkeys; i++) {
        napi_value entry, kv, mv;
        uint8_t *kd, *md;
        size_t kl, ml;
        NAPI_CALL(env, napi_get_element(env, keys_v, i, &entry));
        if (napi_typeof(env, entry, &t) != napi_ok || t != napi_object ||
            !(kv = get_opt(env, entry, "key")) || !get_bytes(env, kv, &kd, &kl))
            return throw_arg(env, "policy.keys[i].key must be a Uint8Array");
        if (kl != (size_t)policy.rtp.cipher_key_len) /* 30 (AES-128) or 46 (AES-256) */
            return throw_arg(env, "policy.keys[i].key must be master key || master salt (30 or 46 bytes)");
        mk[i].key = kd;
        mk[i].mki_id = NULL;
        mk[i].mki_size = 0;
        if ((mv = get_opt(env, entry, "mki"))) {
            if (!get_bytes(env, mv, &md, &ml) || ml < 1 || ml > SRTP_MAX_MKI_LEN)
                return throw_arg(env, "policy.keys[i].mki must be a Uint8Array of 1..128 bytes");
            if (with_mki && ml != mki_len) return throw_arg(env, "all MKIs must have the same length");
            mki_len = ml;
            mk[i].mki_id = md;
            mk[i].mki_size = (unsigned)ml;
            with_mki++;
        }
        mkp[i] = &mk[i];
    }
    if (with_mki != 0 && with_mki != nkeys) return throw_arg(env, "either every key has an MKI or none does");
    if (with_mki == 0 && nkeys != 1) return throw_arg(env, "several keys need MKIs to tell them apart");
    if (with_mki) {
        policy.key = NULL; /* libsrtp then uses keys[]/num_master_keys */
        policy.keys = mkp;
        policy.num_master_keys = nkeys;
    } else {
        policy.key = mk[0].key;
    }

    uint32_t u;
    if ((v = get_opt(env, pol, "windowSize"))) {
        if (!get_uint(env, v, 4294967295.0, &u)) return throw_arg(env, "policy.windowSize must be a uint32");
        policy.window_size = u; /* libsrtp: 0 = default 128, else 64..0x7fff */
    }
    if ((v = get_opt(env, pol, "allowRepeatTx"))) {
        bool b;
        if (napi_get_value_bool(env, v, &b) != napi_ok) return throw_arg(env, "policy.allowRepeatTx must be a boolean");
        policy.allow_repeat_tx = b ? 1 : 0;
    }
    policy.next = NULL;

    srtp_t ctx = NULL;
    srtp_err_status_t st = srtp_create(&ctx, &policy);
    if (st != srtp_err_status_ok) return throw_srtp(env, "srtp_create", st);

    session_t *s = malloc(sizeof *s); /* once per session, never per packet */
    if (!s) {
        srtp_dealloc(ctx);
        napi_throw_error(env, "ERR_NO_MEMORY", "out of memory");
        return NULL;
    }
    s->ctx = ctx;
    s->use_mki = with_mki ? 1 : 0;
    if (napi_wrap(env, self, s, session_finalize, NULL, NULL) != napi_ok) {
        srtp_dealloc(ctx);
        free(s);
        return throw_napi(env);
    }
    return self;
}

/* Fetch `this`'s open session and up to `max` args (missing ones are undefined). */
static session_t *open_session(napi_env env, napi_callback_info info, size_t max, napi_value *argv, size_t *argc) {
    napi_value self;
    void *data = NULL;
    *argc = max;
    if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return throw_napi(env), NULL;
    if (napi_unwrap(env, self, &data) != napi_ok || !data) return throw_arg(env, "not a Session"), NULL;
    session_t *s = data;
    if (!s->ctx) {
        napi_throw_error(env, "ERR_CLOSED", "session is closed");
        return NULL;
    }
    return s;
}

enum op { OP_PROTECT, OP_UNPROTECT, OP_PROTECT_RTCP, OP_UNPROTECT_RTCP };

/* Shared body of the four packet methods: (buf, len[, mkiIndex]) -> new length. */
static napi_value packet_op(napi_env env, napi_callback_info info, enum op op) {
    napi_value argv[3];
    size_t argc;
    session_t *s = open_session(env, info, 3, argv, &argc);
    if (!s) return NULL;

    uint8_t *buf;
    size_t cap;
    uint32_t len, mki_index = 0;
    if (argc < 2 || !get_bytes(env, argv[0], &buf, &cap)) return throw_arg(env, "buf must be a Uint8Array");
    if (!get_uint(env, argv[1], (double)cap, &len)) return throw_arg(env, "len must be an integer in 0..buf.length");
    bool rtcp = (op == OP_PROTECT_RTCP || op == OP_UNPROTECT_RTCP);
    if (len < (rtcp ? RTCP_HEADER_MIN : RTP_HEADER_MIN)) return throw_arg(env, "packet shorter than its fixed header");
    if (op == OP_PROTECT || op == OP_PROTECT_RTCP) {
        napi_valuetype t = napi_undefined;
        if (argc >= 3) napi_typeof(env, argv[2], &t);
        if (t != napi_undefined && !get_uint(env, argv[2], SRTP_MAX_NUM_MASTER_KEYS - 1, &mki_index))
            return throw_arg(env, "mkiIndex must be an integer in 0..15");
        /* libsrtp 2.x writes the trailer past len without a bound: make sure the worst case fits. */
        size_t need = (size_t)len + SRTP_MAX_TRAILER_LEN + (rtcp ? SRTCP_INDEX_LEN : 0);
        if (need > cap || need > INT32_MAX) {
            char msg[128];
            snprintf(msg, sizeof msg, "buffer too small: %zu bytes, protect needs len + %d = %zu", cap,
                     (int)(need - len), need);
            napi_throw_error(env, "ERR_CAPACITY", msg);
            return NULL;
        }
    } else if (len > INT32_MAX) {
        return throw_arg(env, "len too large");
    }

    int n = (int)len;
    srtp_err_status_t st;
    const char *name;
    switch (op) {
    case OP_PROTECT:
        st = srtp_protect_mki(s->ctx, buf, &n, s->use_mki, mki_index);
        name = "srtp_protect";
        break;
    case OP_UNPROTECT: /* plain srtp_unprotect() passes use_mki=0 and would not strip an MKI */
        st = srtp_unprotect_mki(s->ctx, buf, &n, s->use_mki);
        name = "srtp_unprotect";
        break;
    case OP_PROTECT_RTCP:
        st = srtp_protect_rtcp_mki(s->ctx, buf, &n, s->use_mki, mki_index);
        name = "srtp_protect_rtcp";
        break;
    default:
        st = srtp_unprotect_rtcp_mki(s->ctx, buf, &n, s->use_mki);
        name = "srtp_unprotect_rtcp";
        break;
    }
    if (st != srtp_err_status_ok) return throw_srtp(env, name, st);
    napi_value out;
    NAPI_CALL(env, napi_create_uint32(env, (uint32_t)n, &out));
    return out;
}

static napi_value m_protect(napi_env env, napi_callback_info info) { return packet_op(env, info, OP_PROTECT); }
static napi_value m_unprotect(napi_env env, napi_callback_info info) { return packet_op(env, info, OP_UNPROTECT); }
static napi_value m_protect_rtcp(napi_env env, napi_callback_info info) { return packet_op(env, info, OP_PROTECT_RTCP); }
static napi_value m_unprotect_rtcp(napi_env env, napi_callback_info info) { return packet_op(env, info, OP_UNPROTECT_RTCP); }

/* setRoc(ssrc, roc): the stream for ssrc must exist (ssrc_specific, or already seen a packet). */
static napi_value m_set_roc(napi_env env, napi_callback_info info) {
    napi_value argv[2];
    size_t argc;
    session_t *s = open_session(env, info, 2, argv, &argc);
    if (!s) return NULL;
    uint32_t ssrc, roc;
    if (argc < 2 || !get_uint(env, argv[0], 4294967295.0, &ssrc) || !get_uint(env, argv[1], 4294967295.0, &roc))
        return throw_arg(env, "setRoc(ssrc, roc) takes two uint32");
    srtp_err_status_t st = srtp_set_stream_roc(s->ctx, ssrc, roc);
    if (st != srtp_err_status_ok) return throw_srtp(env, "srtp_set_stream_roc", st);
    napi_value undef;
    NAPI_CALL(env, napi_get_undefined(env, &undef));
    return undef;
}

static napi_value m_get_roc(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    size_t argc;
    session_t *s = open_session(env, info, 1, argv, &argc);
    if (!s) return NULL;
    uint32_t ssrc, roc = 0;
    if (argc < 1 || !get_uint(env, argv[0], 4294967295.0, &ssrc)) return throw_arg(env, "getRoc(ssrc) takes a uint32");
    srtp_err_status_t st = srtp_get_stream_roc(s->ctx, ssrc, &roc);
    if (st != srtp_err_status_ok) return throw_srtp(env, "srtp_get_stream_roc", st);
    napi_value out;
    NAPI_CALL(env, napi_create_uint32(env, roc, &out));
    return out;
}

/* close(): srtp_dealloc now; a second close() is a no-op. */
static napi_value m_close(napi_env env, napi_callback_info info) {
    napi_value self, undef;
    void *data = NULL;
    NAPI_CALL(env, napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
    if (napi_unwrap(env, self, &data) != napi_ok || !data) return throw_arg(env, "not a Session");
    session_t *s = data;
    if (s->ctx) {
        srtp_err_status_t st = srtp_dealloc(s->ctx);
        s->ctx = NULL;
        if (st != srtp_err_status_ok) return throw_srtp(env, "srtp_dealloc", st);
    }
    NAPI_CALL(env, napi_get_undefined(env, &undef));
    return undef;
}

static napi_value m_version(napi_env env, napi_callback_info info) {
    napi_value out;
    NAPI_CALL(env, napi_create_string_utf8(env, srtp_get_version_string(), NAPI_AUTO_LENGTH, &out));
    return out;
}

NAPI_MODULE_INIT() {
    napi_property_descriptor methods[] = {
        {"protect", NULL, m_protect, NULL, NULL, NULL, napi_default_method, NULL},
        {"unprotect", NULL, m_unprotect, NULL, NULL, NULL, napi_default_method, NULL},
        {"protectRtcp", NULL, m_protect_rtcp, NULL, NULL, NULL, napi_default_method, NULL},
        {"unprotectRtcp", NULL, m_unprotect_rtcp, NULL, NULL, NULL, napi_default_method, NULL},
        {"setRoc", NULL, m_set_roc, NULL, NULL, NULL, napi_default_method, NULL},
        {"getRoc", NULL, m_get_roc, NULL, NULL, NULL, napi_default_method, NULL},
        {"close", NULL, m_close, NULL, NULL, NULL, napi_default_method, NULL},
    };
    napi_value cls, fn;
    NAPI_CALL(env, napi_define_class(env, "Session", NAPI_AUTO_LENGTH, session_new, NULL,
                                     sizeof methods / sizeof methods[0], methods, &cls));
    NAPI_CALL(env, napi_set_named_property(env, exports, "Session", cls));
    NAPI_CALL(env, napi_create_function(env, "version", NAPI_AUTO_LENGTH, m_version, NULL, &fn));
    NAPI_CALL(env, napi_set_named_property(env, exports, "version", fn));
    return exports;
}
