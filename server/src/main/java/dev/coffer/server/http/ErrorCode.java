package dev.coffer.server.http;

/**
 * The stable catalogue of API error codes. Clients branch on {@link #code()}, never on the
 * message text. The wire form is {@code {"error":{"code":"...","message":"..."}}}.
 * Codes are only ever added, never renamed: they are part of the API (see server/README.md).
 */
public enum ErrorCode {
    // request shape
    MALFORMED_REQUEST("malformed_request", 400),
    BODY_TOO_LARGE("body_too_large", 413),
    UNSUPPORTED_MEDIA_TYPE("unsupported_media_type", 415),
    NOT_FOUND("not_found", 404),
    METHOD_NOT_ALLOWED("method_not_allowed", 405),
    STARTING("starting", 503),
    /** More verification work is waiting than the server takes on; Retry-After says when to come back. */
    OVERLOADED("overloaded", 503),
    // admin authentication
    UNAUTHENTICATED("unauthenticated", 401),
    // attestation
    EVIDENCE_INVALID("evidence_invalid", 400),
    RUNTIME_DATA_MISMATCH("runtime_data_mismatch", 400),
    SIMULATED_EVIDENCE_REFUSED("simulated_evidence_refused", 403),
    COLLATERAL_UNAVAILABLE("collateral_unavailable", 503),
    POLICY_DENIED("policy_denied", 403),
    /** The report's MEASUREMENT is neither endorsed by a trusted endorser nor a reference value. */
    MEASUREMENT_NOT_ENDORSED("measurement_not_endorsed", 403),
    /** A guest endorsement (in a request or registered) is not a well-formed COSE_Sign1 UVM endorsement. */
    ENDORSEMENT_INVALID("endorsement_invalid", 400),
    /** A platform component's reported TCB is below the configured minimum for its product. */
    TCB_BELOW_MINIMUM("tcb_below_minimum", 403),
    /** The VCEK/VLEK or ASK is revoked by AMD's CRL. */
    CERTIFICATE_REVOKED("certificate_revoked", 403),
    // administration
    LAST_ADMIN_TOKEN("last_admin_token", 409),
    // key vault
    KEY_NOT_FOUND("key_not_found", 404),
    KEY_EXISTS("key_exists", 409),
    KEY_INVALID("key_invalid", 400),
    POLICY_INVALID("policy_invalid", 400),
    POLICY_IMMUTABLE("policy_immutable", 409),
    KEY_NOT_EXPORTABLE("key_not_exportable", 403),
    /** A volume generation compare-and-set found another value than the caller expected (another session moved it). */
    GENERATION_CONFLICT("generation_conflict", 409),
    // release tokens
    TOKEN_MALFORMED("token_malformed", 401),
    TOKEN_SIGNATURE_INVALID("token_signature_invalid", 401),
    TOKEN_EXPIRED("token_expired", 401),
    TOKEN_NOT_YET_VALID("token_not_yet_valid", 401),
    TOKEN_ISSUER_UNTRUSTED("token_issuer_untrusted", 401),
    TOKEN_ISSUER_UNREACHABLE("token_issuer_unreachable", 503),
    TOKEN_RUNTIME_KEY_INVALID("token_runtime_key_invalid", 400),
    RELEASE_DENIED("release_denied", 403),
    // the server itself (a bug or a broken store; never caused by request content)
    INTERNAL_ERROR("internal_error", 500),
    STORE_UNAVAILABLE("store_unavailable", 503);

    private final String code;
    private final int status;

    ErrorCode(String code, int status) {
        this.code = code;
        this.status = status;
    }

    public String code() {
        return code;
    }

    public int status() {
        return status;
    }

    public static ErrorCode fromCode(String code) {
        for (ErrorCode c : values()) {
            if (c.code.equals(code)) return c;
        }
        return null;
    }
}
