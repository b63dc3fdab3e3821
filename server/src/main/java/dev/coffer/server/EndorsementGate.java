package dev.coffer.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.coffer.attest.endorse.EndorsementFormatException;
import dev.coffer.attest.endorse.EndorsementKey;
import dev.coffer.attest.endorse.EndorsementVerdict;
import dev.coffer.attest.endorse.EndorsementVerifier;
import dev.coffer.attest.endorse.GuestEndorsement;
import dev.coffer.attest.endorse.TrustedEndorser;
import dev.coffer.server.AttestationService.MeasurementAcceptance;
import dev.coffer.server.http.ApiException;
import dev.coffer.server.http.ErrorCode;
import dev.coffer.server.http.HttpRequest;
import dev.coffer.server.http.HttpResponse;
import dev.coffer.server.http.Json;
import dev.coffer.server.http.Router;
import dev.coffer.server.store.StoredEndorsement;
import dev.coffer.server.store.VaultStore;
import dev.coffer.server.vault.AdminTokens;

import java.io.IOException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Guest endorsements as the service sees them: which endorsers it trusts, the endorsements a
 * request presents (Azure's {@code report.Endorsements}: base64url of {@code {"Uvm": [base64url
 * COSE_Sign1, ...]}}, as the SKR sidecar sends its UVM reference info), the ones registered with
 * it ({@code /admin/endorsements}), and the search for one that endorses a MEASUREMENT.
 * Every endorsement is verified at every attestation (chain validity, did:x509, signature,
 * trusted issuer and feed, measurement, SVN), registered ones included.
 */
final class EndorsementGate {
    /** More than a handful of endorsements for one report is not a real client. */
    static final int MAX_PRESENTED = 8;

    private final List<TrustedEndorser> trusted;
    private final VaultStore store;
    private final Clock clock;
    /**
     * Endorsements as guests present them with every report (and as registered), parsed once per
     * distinct document. A deployment has a few (one per guest image release); the bound keeps a
     * client that sends many distinct documents of the maximum size to a few megabytes.
     */
    private final ExactBytesCache<GuestEndorsement> parsed = new ExactBytesCache<>(PARSED_CAPACITY, GuestEndorsement::parse);
    static final int PARSED_CAPACITY = 64;

    EndorsementGate(List<TrustedEndorser> trusted, VaultStore store, Clock clock) {
        this.trusted = List.copyOf(trusted);
        this.store = store;
        this.clock = clock;
    }

    /** The configured endorsers, plus the Coffer home's own endorsement key unless told otherwise. */
    static EndorsementGate create(ServerConfig config, VaultStore store) {
        List<TrustedEndorser> all = new ArrayList<>(config.appraisalSettings().endorsers());
        if (config.appraisalSettings().trustHomeEndorser()) all.add(homeEndorser(config.home()));
        return new EndorsementGate(all, store, config.clock());
    }

    /** The Coffer home's endorsement key as a trusted endorser (its DID and feed, any SVN); created on first use. */
    static TrustedEndorser homeEndorser(java.nio.file.Path home) {
        return EndorsementKey.openOrCreate(AppraisalSettings.homeEndorsementKeyDir(home)).trustedEndorser();
    }

    List<TrustedEndorser> trusted() {
        return trusted;
    }

    /** Decodes Azure's {@code Endorsements} field (already base64url-decoded) into the COSE documents it lists. */
    static List<byte[]> presented(byte[] json) {
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(json);
        } catch (IOException e) {
            throw new ApiException(ErrorCode.ENDORSEMENT_INVALID, "attest: report.Endorsements must be base64url of a JSON object "
                    + "{\"Uvm\": [base64url COSE_Sign1, ...]} (Azure's shape), found text that is not JSON");
        }
        if (!(root instanceof ObjectNode o) || !(o.get("Uvm") instanceof ArrayNode uvm)) {
            throw new ApiException(ErrorCode.ENDORSEMENT_INVALID, "attest: report.Endorsements must be {\"Uvm\": [base64url "
                    + "COSE_Sign1, ...]}, found " + (root == null ? "nothing" : root.getNodeType().toString().toLowerCase()
                    + (root.isObject() ? " without a 'Uvm' array" : "")));
        }
        if (uvm.size() > MAX_PRESENTED) {
            throw new ApiException(ErrorCode.ENDORSEMENT_INVALID, "attest: report.Endorsements.Uvm lists " + uvm.size()
                    + " endorsements; at most " + MAX_PRESENTED + " are accepted");
        }
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < uvm.size(); i++) {
            JsonNode n = uvm.get(i);
            if (!n.isTextual()) {
                throw new ApiException(ErrorCode.ENDORSEMENT_INVALID, "attest: report.Endorsements.Uvm[" + i + "] must be a "
                        + "base64url string, found " + n.getNodeType().toString().toLowerCase());
            }
            byte[] cose = AttestationService.b64url(n.asText(), "report.Endorsements.Uvm[" + i + "]");
            if (cose.length > GuestEndorsement.MAX_DOCUMENT_BYTES) {
                throw new ApiException(ErrorCode.ENDORSEMENT_INVALID, "attest: report.Endorsements.Uvm[" + i + "] is " + cose.length
                        + " bytes; an endorsement is at most " + GuestEndorsement.MAX_DOCUMENT_BYTES);
            }
            out.add(cose);
        }
        return out;
    }

    /** Parses one COSE_Sign1 endorsement; anything else is a 400 {@code endorsement_invalid} saying what is wrong. */
    GuestEndorsement parse(byte[] cose, String where) {
        try {
            return parsed.parse(cose);
        } catch (EndorsementFormatException e) {
            throw new ApiException(ErrorCode.ENDORSEMENT_INVALID, where + " is not a guest endorsement: " + e.getMessage());
        }
    }

    /**
     * The first endorsement (presented ones first, then registered ones) that a trusted endorser
     * signed for this MEASUREMENT; {@code why} collects, per endorsement tried, why it did not count.
     */
    Optional<MeasurementAcceptance> find(String measurement, List<GuestEndorsement> presented, List<String> why) {
        // Presented ones first: a guest that sends its endorsement (the usual case) costs no store query.
        for (int i = 0; i < presented.size(); i++) {
            Optional<MeasurementAcceptance> a = accept(presented.get(i), measurement, "presented endorsement " + i, why);
            if (a.isPresent()) return a;
        }
        for (StoredEndorsement s : store.endorsements(measurement)) {
            GuestEndorsement e;
            try {
                e = parsed.parse(s.cose());
            } catch (EndorsementFormatException x) {
                why.add("registered endorsement " + s.digest().substring(0, 16) + " no longer parses: " + x.getMessage());
                continue;
            }
            Optional<MeasurementAcceptance> a = accept(e, measurement, "registered endorsement " + e.sha256().substring(0, 16), why);
            if (a.isPresent()) return a;
        }
        return Optional.empty();
    }

    /** {@code e}'s acceptance of this MEASUREMENT, or empty with the reason added to {@code why}. */
    private Optional<MeasurementAcceptance> accept(GuestEndorsement e, String measurement, String name, List<String> why) {
        EndorsementVerdict v = EndorsementVerifier.verify(e, measurement, clock.instant(), trusted);
        if (v.endorsed()) {
            return Optional.of(new MeasurementAcceptance(MeasurementAcceptance.ENDORSEMENT, v.complianceStatus(), e.issuer(),
                    e.feed(), Long.toString(e.guestSvn())));
        }
        why.add(name + " " + v.summary());
        return Optional.empty();
    }

    void register(Router r, AdminTokens admins) {
        r.add("GET", "/admin/endorsements", req -> {
            admins.require(req.header("Authorization"));
            List<Object> out = new ArrayList<>();
            for (StoredEndorsement s : store.endorsements(null)) out.add(describe(s));
            return HttpResponse.ok(Map.of("endorsements", out, "trusted_endorsers", trusted.stream().map(t -> {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("did", t.did());
                if (t.feed() != null) m.put("feed", t.feed());
                m.put("minimum_svn", t.minimumGuestSvn());
                return m;
            }).toList()));
        });
        r.add("POST", "/admin/endorsements", req -> {
            admins.require(req.header("Authorization"));
            return add(req);
        });
        r.add("DELETE", "/admin/endorsements/{digest}", req -> {
            admins.require(req.header("Authorization"));
            String d = req.pathParam("digest").toLowerCase();
            if (!d.matches("[0-9a-f]{64}")) {
                throw new ApiException(ErrorCode.MALFORMED_REQUEST, "delete endorsement: expected its SHA-256 (64 hex digits, "
                        + "see GET /admin/endorsements), found " + d.length() + " characters");
            }
            if (!store.removeEndorsement(d)) {
                throw new ApiException(ErrorCode.NOT_FOUND, "no registered endorsement has digest " + d);
            }
            return HttpResponse.ok(Map.of("removed", d));
        });
    }

    /** {@code {"endorsement": base64url(COSE_Sign1)}}: parsed, checked against the trusted endorsers, stored. */
    private HttpResponse add(HttpRequest req) {
        ObjectNode body = Json.parseObject(req.body(), "register endorsement");
        byte[] cose = AttestationService.b64url(Json.requiredText(body, "endorsement", "register endorsement"), "endorsement");
        GuestEndorsement e = parse(cose, "register endorsement: 'endorsement'");
        // Verified now against its own measurement, so the operator learns at once whether it can ever count.
        EndorsementVerdict v = EndorsementVerifier.verify(e, e.launchMeasurement(), clock.instant(), trusted);
        StoredEndorsement s = new StoredEndorsement(e.sha256(), e.launchMeasurement(), e.issuer(), e.feed(),
                Long.toString(e.guestSvn()), cose, clock.instant());
        boolean added = store.putEndorsement(s);
        Map<String, Object> m = new LinkedHashMap<>(describe(s));
        m.put("added", added);
        m.put("verifies", v.endorsed());
        m.put("verdict", v.summary());
        if (!v.endorsed()) {
            m.put("warning", "stored, but it does not verify against this server's trusted endorsers now, so it endorses nothing "
                    + "until it does (trust its issuer with --trust-endorser DID[,FEED[,MINSVN]])");
        }
        return HttpResponse.json(added ? 201 : 200, m);
    }

    private static Map<String, Object> describe(StoredEndorsement s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("digest", s.digest());
        m.put("measurement", s.measurement());
        m.put("issuer", s.issuer());
        m.put("feed", s.feed());
        m.put("svn", s.svn());
        m.put("created", s.created().toString());
        return m;
    }

    static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }
}
