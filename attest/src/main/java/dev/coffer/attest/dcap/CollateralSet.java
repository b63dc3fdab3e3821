package dev.coffer.attest.dcap;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Collateral bundles an operator supplies (a file, or a directory of {@code *.json} bundles),
 * looked up by TEE and FMSPC. Nothing is ever fetched from the host presenting the evidence:
 * that host is who collateral protects against.
 */
public record CollateralSet(List<Collateral> bundles) {
    /** Bound on one bundle file: a real one is ~10 KB. */
    private static final long MAX_BUNDLE = 1 << 20;

    public CollateralSet {
        bundles = List.copyOf(bundles);
    }

    public static CollateralSet empty() {
        return new CollateralSet(List.of());
    }

    /** A bundle file, or every {@code *.json} in a directory; a file that is not a bundle is an error naming it. */
    public static CollateralSet load(Path fileOrDir) {
        List<Path> files = new ArrayList<>();
        if (Files.isDirectory(fileOrDir)) {
            try (Stream<Path> s = Files.list(fileOrDir)) {
                s.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().forEach(files::add);
            } catch (IOException e) {
                throw new QuoteFormatException("cannot list the collateral directory " + fileOrDir + ": " + e.getMessage());
            }
        } else {
            files.add(fileOrDir);
        }
        List<Collateral> out = new ArrayList<>();
        for (Path f : files) {
            try {
                if (Files.size(f) > MAX_BUNDLE) throw new QuoteFormatException("is " + Files.size(f) + " bytes; a collateral bundle is about 10 KB");
                out.add(Collateral.parseBundle(Files.readString(f, StandardCharsets.UTF_8)));
            } catch (IOException e) {
                throw new QuoteFormatException("cannot read the collateral bundle " + f + ": " + e.getMessage());
            } catch (QuoteFormatException e) {
                throw new QuoteFormatException("collateral bundle " + f + ": " + e.getMessage());
            }
        }
        return new CollateralSet(out);
    }

    /** The bundle whose TCB info is for this TEE and FMSPC, newest issue first. */
    public Optional<Collateral> find(DcapQuote.Tee tee, String fmspcHex) {
        return bundles.stream()
                .filter(c -> c.tcbInfo().isTdx() == (tee == DcapQuote.Tee.TDX) && c.tcbInfo().fmspcHex().equalsIgnoreCase(fmspcHex))
                .max(java.util.Comparator.comparing(c -> c.tcbInfo().issueDate()));
    }

    /** Which TEE/FMSPC pairs this set covers, for error messages. */
    public List<String> covers() {
        return bundles.stream().map(c -> c.tcbInfo().id() + "/" + c.tcbInfo().fmspcHex()).distinct().toList();
    }

    public CollateralSet plus(Collateral c) {
        List<Collateral> all = new ArrayList<>(bundles);
        all.add(c);
        return new CollateralSet(all);
    }
}
