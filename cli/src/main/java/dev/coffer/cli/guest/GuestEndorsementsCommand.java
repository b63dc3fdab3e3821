package dev.coffer.cli.guest;

import dev.coffer.attest.endorse.EndorsementKey;
import dev.coffer.attest.endorse.GuestEndorsement;
import dev.coffer.cli.CofferException;
import dev.coffer.cli.CommonOptions;
import dev.coffer.cli.Json;
import dev.coffer.cli.OutputOption;
import dev.coffer.runtime.guest.GuestEndorsements;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** {@code coffer guest endorsements}: list the endorsements kept beside the guest. */
@Command(name = "endorsements", mixinStandardHelpOptions = true,
        description = {"List the guest endorsements in $COFFER_HOME/guest/endorsements: measurement, issuer, feed,",
                "guest SVN, the signer's validity, and whether the document is intact (chain, did:x509 and",
                "signature check out now; whether to trust its issuer is the verifier's decision)."},
        footer = {"", "Examples:", "  coffer guest endorsements", "  coffer guest endorsements -o json"})
public final class GuestEndorsementsCommand implements Runnable {
    @Spec
    CommandSpec spec;
    @ParentCommand
    GuestCommand parent;
    @Mixin
    CommonOptions common;
    @Mixin
    OutputOption output;

    @Override
    public void run() {
        List<GuestEndorsements.Entry> entries;
        Optional<EndorsementKey> homeKey;
        try {
            entries = GuestEndorsements.list(parent.home());
            homeKey = EndorsementKey.openIfPresent(GuestEndorsements.keyDir(parent.home()));
        } catch (IOException e) {
            throw new CofferException("cannot list " + GuestEndorsements.dir(parent.home()) + " (" + e.getMessage() + ")", e);
        } catch (RuntimeException e) {
            throw new CofferException(e.getMessage(), e);
        }
        Instant now = Instant.now();
        PrintWriter out = spec.commandLine().getOut();
        if (output.json()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("dir", GuestEndorsements.dir(parent.home()).toString());
            m.put("homeIssuer", homeKey.map(EndorsementKey::did).orElse(null));
            m.put("homeFeed", homeKey.map(EndorsementKey::feed).orElse(null));
            List<Map<String, Object>> list = new ArrayList<>();
            for (GuestEndorsements.Entry e : entries) {
                Map<String, Object> em = new LinkedHashMap<>();
                em.put("file", e.file().toString());
                em.put("kind", e.kind());
                if (e.endorsement() == null) {
                    em.put("problem", e.problem());
                } else {
                    GuestEndorsement g = e.endorsement();
                    em.put("measurement", g.launchMeasurement());
                    em.put("issuer", g.issuer());
                    em.put("feed", g.feed());
                    em.put("guestSvn", g.guestSvn());
                    em.put("algorithm", g.algorithm().name());
                    em.put("signer", g.leaf().getSubjectX500Principal().getName());
                    em.put("notBefore", g.leaf().getNotBefore().toInstant().toString());
                    em.put("notAfter", g.leaf().getNotAfter().toInstant().toString());
                    em.put("intact", e.intact(now));
                    em.put("homeKey", homeKey.map(k -> k.did().equals(g.issuer())).orElse(false));
                }
                list.add(em);
            }
            m.put("endorsements", list);
            Json.print(out, m);
            return;
        }
        if (entries.isEmpty()) {
            out.println("no endorsements in " + GuestEndorsements.dir(parent.home()) + "; `coffer guest build` or `coffer guest endorse` makes them");
            out.flush();
            return;
        }
        homeKey.ifPresent(k -> out.println("home issuer " + k.did() + " (feed " + k.feed() + ")"));
        for (GuestEndorsements.Entry e : entries) {
            if (e.endorsement() == null) {
                out.println(e.file().getFileName() + ": unreadable: " + e.problem());
                continue;
            }
            GuestEndorsement g = e.endorsement();
            boolean home = homeKey.map(k -> k.did().equals(g.issuer())).orElse(false);
            out.println(e.kind() + " " + g.launchMeasurement() + " svn " + g.guestSvn() + (e.intact(now) ? "" : " NOT INTACT"));
            out.println("  issuer " + g.issuer() + (home ? " (home key)" : ""));
            out.println("  feed " + g.feed() + ", signer valid " + g.leaf().getNotBefore().toInstant() + " .. " + g.leaf().getNotAfter().toInstant());
            out.println("  file " + e.file());
        }
        out.flush();
    }
}
