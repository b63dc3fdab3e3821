package dev.coffer.cli.attest;

import dev.coffer.attest.dcap.Collateral;
import dev.coffer.attest.dcap.CollateralSet;
import dev.coffer.attest.dcap.DcapQuote;
import dev.coffer.attest.dcap.DcapVerdict;
import dev.coffer.attest.dcap.DcapVerifier;
import dev.coffer.attest.dcap.PckExtensions;
import dev.coffer.attest.dcap.QuoteFields;
import dev.coffer.attest.dcap.QuoteFormatException;
import dev.coffer.attest.dcap.TcbEvaluation;
import dev.coffer.attest.dcap.TcbStatus;
import dev.coffer.attest.verify.CheckResult;
import dev.coffer.cli.CofferException;
import dev.coffer.cli.ExitCodes;
import dev.coffer.cli.Json;
import dev.coffer.cli.UsageException;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/** The DCAP half of {@code coffer attest verify --quote}: parse, verify, print fields, checks and verdict. */
final class QuoteVerification {
    private final Path quoteFile;
    private final String kind;
    private final Path collateralPath;
    private final String at;
    private final dev.coffer.attest.pcs.PcsClient pcs;

    QuoteVerification(Path quoteFile, String kind, Path collateralPath, String at, dev.coffer.attest.pcs.PcsClient pcs) {
        this.quoteFile = quoteFile;
        this.kind = kind;
        this.collateralPath = collateralPath;
        this.at = at;
        this.pcs = pcs;
    }

    int run(PrintWriter out, boolean json) {
        if (kind != null && !kind.equals("sgx") && !kind.equals("tdx")) {
            throw new UsageException("--kind expects sgx or tdx, found '" + kind + "'");
        }
        Instant when;
        try {
            when = at == null ? Instant.now() : Instant.parse(at);
        } catch (DateTimeParseException e) {
            throw new UsageException("--at expects an ISO-8601 instant like 2023-07-01T00:00:00Z, found '" + at + "'");
        }
        DcapQuote q;
        try {
            q = DcapQuote.parse(decode(AttestInputs.read(quoteFile, "quote")));
        } catch (QuoteFormatException e) {
            throw new CofferException(quoteFile + ": " + e.getMessage());
        }
        if (kind != null && !q.tee().label().equals(kind)) {
            throw new CofferException(quoteFile + ": --kind " + kind + " but the quote is a " + q.tee().label() + " quote (version "
                    + q.header().version() + ", tee type 0x" + Long.toHexString(q.header().teeType()) + ")");
        }
        Optional<Collateral> bundle = Optional.empty();
        List<String> covers = List.of();
        if (collateralPath != null) {
            CollateralSet set;
            try {
                set = CollateralSet.load(collateralPath);
            } catch (QuoteFormatException e) {
                throw new CofferException(e.getMessage());
            }
            covers = set.covers();
            String fmspc;
            try {
                fmspc = PckExtensions.of(q.pckChain().getFirst()).fmspcHex();
            } catch (QuoteFormatException e) {
                fmspc = "?";
            }
            bundle = set.find(q.tee(), fmspc);
            // One bundle given for another platform: verify with it anyway, so collateral_match names the mismatch.
            if (bundle.isEmpty() && set.bundles().size() == 1) bundle = Optional.of(set.bundles().getFirst());
        }
        if (pcs != null) {
            try {
                PckExtensions pck = PckExtensions.of(q.pckChain().getFirst());
                boolean processor = q.pckChain().size() > 1 && DcapVerifierNames.cn(q.pckChain().get(1)).contains("Processor");
                bundle = Optional.of(pcs.collateral(q.tee(), pck.fmspcHex(), processor));
            } catch (QuoteFormatException | dev.coffer.attest.kds.CollateralUnavailableException e) {
                throw new CofferException(e.getMessage());
            }
        }
        DcapVerifier verifier = new DcapVerifier();
        DcapVerdict v = bundle.map(c -> verifier.verify(q, c, when)).orElseGet(() -> verifier.verifyWithoutCollateral(q, when));
        if (collateralPath != null && bundle.isEmpty()) {
            out.println("note: " + collateralPath + " has no collateral for this quote (it covers " + covers + ")");
        }
        if (json) Json.print(out, json(q, v));
        else text(out, q, v);
        return v.valid() ? ExitCodes.OK : ExitCodes.FAILURE;
    }

    /** The CN of a certificate's subject, for choosing the PCK CRL. */
    private static final class DcapVerifierNames {
        static String cn(java.security.cert.X509Certificate c) {
            for (String part : c.getSubjectX500Principal().getName().split(",")) if (part.startsWith("CN=")) return part.substring(3);
            return "";
        }
    }

    /** Raw bytes, or the hex or base64 text of them (what tools and APIs hand out). */
    static byte[] decode(byte[] file) {
        if (file.length >= 2 && (file[0] == 3 || file[0] == 4 || file[0] == 5) && file[1] == 0) return file;
        String t = new String(file, StandardCharsets.US_ASCII).strip();
        if (t.matches("(?s)[0-9a-fA-F\\s]+") && t.replaceAll("\\s", "").length() % 2 == 0) {
            return HexFormat.of().parseHex(t.replaceAll("\\s", "").toLowerCase(Locale.ROOT));
        }
        try {
            return Base64.getMimeDecoder().decode(t.replace('-', '+').replace('_', '/'));
        } catch (IllegalArgumentException e) {
            return file;
        }
    }

    private static Map<String, Object> json(DcapQuote q, DcapVerdict v) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("valid", v.valid());
        m.put("tee", q.tee().label());
        m.put("tcbStatus", v.tcbStatus().map(TcbStatus::pcsName).orElse(null));
        m.put("advisoryIds", v.advisoryIds());
        Map<String, Object> fields = QuoteFields.of(q);
        for (String k : List.of("mrenclave", "mrsigner", "isvProdId", "isvSvn", "mrtd", "rtmr0", "rtmr1", "rtmr2", "rtmr3", "mrconfigid",
                "mrowner", "mrownerconfig", "debug", "reportData")) {
            if (fields.containsKey(k)) m.put(k, fields.get(k));
        }
        m.put("quote", fields);
        v.pck().ifPresent(p -> m.put("pck", QuoteFields.of(p)));
        v.tcb().ifPresent(t -> m.put("tcb", tcb(t)));
        m.put("at", v.at().toString());
        List<Map<String, Object>> checks = new ArrayList<>();
        for (CheckResult r : v.checks()) {
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("name", r.name());
            c.put("status", r.status().name().toLowerCase(Locale.ROOT));
            c.put("detail", r.detail());
            checks.add(c);
        }
        m.put("checks", checks);
        m.put("verdict", v.summary());
        return m;
    }

    private static Map<String, Object> tcb(TcbEvaluation t) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", t.status().map(TcbStatus::pcsName).orElse(null));
        m.put("platformStatus", t.platformStatus().map(TcbStatus::pcsName).orElse(null));
        m.put("tdxModuleStatus", t.tdxModuleStatus().map(TcbStatus::pcsName).orElse(null));
        m.put("qeStatus", t.qeStatus().map(TcbStatus::pcsName).orElse(null));
        m.put("tcbDate", t.tcbDate().map(Instant::toString).orElse(null));
        m.put("problems", t.problems());
        return m;
    }

    private void text(PrintWriter out, DcapQuote q, DcapVerdict v) {
        out.println("quote " + quoteFile + " (" + q.tee().label() + ", version " + q.header().version() + ", " + q.raw().length + " bytes)");
        for (var e : QuoteFields.of(q).entrySet()) out.printf("  %-20s %s%n", e.getKey(), e.getValue());
        v.pck().ifPresent(p -> {
            out.println("pck certificate");
            for (var e : QuoteFields.of(p).entrySet()) out.printf("  %-20s %s%n", e.getKey(), e.getValue());
        });
        out.println("checks (at " + v.at() + ")");
        for (CheckResult r : v.checks()) out.printf("  %-4s %-22s %s%n", r.status(), r.name(), r.detail());
        out.println("tcb status: " + v.tcbStatus().map(TcbStatus::pcsName).orElse("none")
                + (v.advisoryIds().isEmpty() ? "" : " (advisories " + String.join(", ", v.advisoryIds()) + ")"));
        out.println("verdict: " + v.summary());
        out.flush();
    }
}
