package dev.coffer.attest.dcap;

import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The TCB status evaluation of Intel's Quote Verification Library, on parsed collateral (no
 * signatures here, so tests can drive it with edited levels):
 * <ol>
 *   <li>platform: the first tcbLevel whose 16 SGX components and PCE SVN are ≤ the PCK
 *       certificate's, and for TDX whose TDX components are ≤ TEE_TCB_SVN (from byte 2 when the
 *       TDX module has its own identity, i.e. TEE_TCB_SVN[1] &gt; 0);</li>
 *   <li>TDX module: identity {@code TDX_%02X} of TEE_TCB_SVN[1], signer and attributes matched,
 *       first level with isvsvn ≤ TEE_TCB_SVN[0];</li>
 *   <li>QE: signer, product, MISCSELECT and ATTRIBUTES (masked) matched, first level with
 *       isvsvn ≤ the QE's; none matching means Revoked;</li>
 *   <li>converged: an OutOfDate module or QE makes UpToDate/SWHardeningNeeded OutOfDate and the
 *       Configuration statuses OutOfDateConfigurationNeeded; a Revoked one makes it Revoked.</li>
 * </ol>
 */
public final class TcbEvaluator {
    private static final HexFormat HEX = HexFormat.of();

    private TcbEvaluator() {}

    public static TcbEvaluation evaluate(TcbInfo tcbInfo, PckExtensions pck, Optional<TdReport> td, QeIdentity qe, EnclaveReport qeReport) {
        List<String> problems = new ArrayList<>();
        Set<String> advisories = new LinkedHashSet<>();
        StringBuilder detail = new StringBuilder();

        byte[] teeTcbSvn = td.map(TdReport::teeTcbSvn).orElse(null);
        boolean separateModule = teeTcbSvn != null && (teeTcbSvn[1] & 0xff) > 0 && !tcbInfo.tdxModuleIdentities().isEmpty();
        Optional<TcbInfo.TcbLevel> level = platformLevel(tcbInfo, pck, teeTcbSvn, separateModule);
        Optional<TcbStatus> platform = level.map(TcbInfo.TcbLevel::status);
        if (level.isEmpty()) {
            problems.add("no TCB level of tcbInfo (fmspc " + tcbInfo.fmspcHex() + ", evaluation data " + tcbInfo.tcbEvaluationDataNumber()
                    + ") is at or below the platform: PCK SVNs " + java.util.Arrays.toString(pck.tcbComponents()) + " PCESVN " + pck.pceSvn()
                    + (teeTcbSvn != null ? " TEE_TCB_SVN " + HEX.formatHex(teeTcbSvn) : "")
                    + "; the platform's TCB is older than every level Intel still lists (TCB not supported)");
        } else {
            advisories.addAll(level.get().advisoryIds());
            detail.append("platform ").append(level.get().status()).append(" (tcbDate ").append(level.get().tcbDate()).append(")");
        }

        Optional<TcbStatus> module = Optional.empty();
        if (td.isPresent()) {
            module = tdxModule(tcbInfo, td.get(), separateModule, problems, advisories, detail);
        }

        Optional<TcbStatus> qeStatus = qeStatus(qe, qeReport, problems, advisories, detail);

        Optional<TcbStatus> converged = platform;
        if (converged.isPresent()) {
            for (Optional<TcbStatus> part : List.of(module, qeStatus)) {
                if (part.isEmpty()) continue;
                if (part.get() == TcbStatus.REVOKED) converged = Optional.of(TcbStatus.REVOKED);
                else if (part.get() == TcbStatus.OUT_OF_DATE) converged = converged.map(TcbStatus::withOutOfDateComponent);
            }
        }
        return new TcbEvaluation(converged, platform, module, qeStatus, level.map(TcbInfo.TcbLevel::tcbDate),
                List.copyOf(advisories), problems, detail.toString());
    }

    private static Optional<TcbInfo.TcbLevel> platformLevel(TcbInfo info, PckExtensions pck, byte[] teeTcbSvn, boolean separateModule) {
        int[] comps = pck.tcbComponents();
        for (TcbInfo.TcbLevel l : info.tcbLevels()) {
            int[] need = l.sgxComponents();
            boolean ok = pck.pceSvn() >= l.pceSvn();
            for (int i = 0; ok && i < 16; i++) ok = comps[i] >= need[i];
            if (ok && teeTcbSvn != null) {
                int[] tdx = l.tdxComponents().orElse(new int[16]);
                for (int i = separateModule ? 2 : 0; ok && i < 16; i++) ok = (teeTcbSvn[i] & 0xff) >= tdx[i];
            }
            if (ok) return Optional.of(l);
        }
        return Optional.empty();
    }

    private static Optional<TcbStatus> tdxModule(TcbInfo info, TdReport td, boolean separateModule, List<String> problems,
                                                 Set<String> advisories, StringBuilder detail) {
        byte[] svn = td.teeTcbSvn();
        if (!separateModule) {
            // TDX 1.0 module: only the general tdxModule signer/attributes apply.
            info.tdxModule().ifPresent(m -> {
                if (!MessageDigest.isEqual(m.mrSigner(), td.mrSignerSeam())) {
                    problems.add("MRSIGNERSEAM " + HEX.formatHex(td.mrSignerSeam()) + " is not the TDX module signer " + HEX.formatHex(m.mrSigner()) + " of tcbInfo");
                } else if (!maskedEqual(td.seamAttributes(), m.attributesMask(), m.attributes())) {
                    problems.add("SEAMATTRIBUTES " + HEX.formatHex(td.seamAttributes()) + " do not match tcbInfo's tdxModule attributes under its mask");
                }
            });
            return Optional.empty();
        }
        String id = "TDX_%02X".formatted(svn[1] & 0xff);
        Optional<TcbInfo.TdxModuleIdentity> identity = info.tdxModuleIdentities().stream().filter(m -> m.id().equals(id)).findFirst();
        if (identity.isEmpty()) {
            problems.add("tcbInfo lists no TDX module identity " + id + " (TEE_TCB_SVN[1] = " + (svn[1] & 0xff) + "); it knows "
                    + info.tdxModuleIdentities().stream().map(TcbInfo.TdxModuleIdentity::id).toList());
            return Optional.empty();
        }
        TcbInfo.TdxModuleIdentity m = identity.get();
        if (!MessageDigest.isEqual(m.mrSigner(), td.mrSignerSeam())) {
            problems.add("MRSIGNERSEAM " + HEX.formatHex(td.mrSignerSeam()) + " is not the signer of " + id + " (" + HEX.formatHex(m.mrSigner()) + ")");
            return Optional.empty();
        }
        if (!maskedEqual(td.seamAttributes(), m.attributesMask(), m.attributes())) {
            problems.add("SEAMATTRIBUTES " + HEX.formatHex(td.seamAttributes()) + " do not match " + id + "'s attributes under its mask");
            return Optional.empty();
        }
        int isvSvn = svn[0] & 0xff;
        for (TcbInfo.ModuleLevel l : m.tcbLevels()) {
            if (isvSvn >= l.isvSvn()) {
                advisories.addAll(l.advisoryIds());
                detail.append("; TDX module ").append(id).append(" isvsvn ").append(isvSvn).append(' ').append(l.status());
                return Optional.of(l.status());
            }
        }
        problems.add("TDX module " + id + " isvsvn " + isvSvn + " is below every level of its identity");
        return Optional.empty();
    }

    private static Optional<TcbStatus> qeStatus(QeIdentity qe, EnclaveReport r, List<String> problems, Set<String> advisories, StringBuilder detail) {
        List<String> mismatch = new ArrayList<>();
        if (!MessageDigest.isEqual(qe.mrSigner(), r.mrSigner())) {
            mismatch.add("MRSIGNER " + HEX.formatHex(r.mrSigner()) + " is not " + qe.id() + "'s " + HEX.formatHex(qe.mrSigner()));
        }
        if (qe.isvProdId() != r.isvProdId()) mismatch.add("ISVPRODID " + r.isvProdId() + " is not " + qe.id() + "'s " + qe.isvProdId());
        if ((r.miscSelect() & qe.miscSelectMask()) != qe.miscSelect()) {
            mismatch.add("MISCSELECT " + Long.toHexString(r.miscSelect()) + " does not match under mask " + Long.toHexString(qe.miscSelectMask()));
        }
        if (!maskedEqual(r.attributes(), qe.attributesMask(), qe.attributes())) {
            mismatch.add("ATTRIBUTES " + HEX.formatHex(r.attributes()) + " do not match " + HEX.formatHex(qe.attributes()) + " under mask " + HEX.formatHex(qe.attributesMask()));
        }
        if (!mismatch.isEmpty()) {
            problems.add("the QE report is not the quoting enclave the QE identity describes: " + String.join("; ", mismatch));
            return Optional.empty();
        }
        for (QeIdentity.Level l : qe.tcbLevels()) {
            if (r.isvSvn() >= l.isvSvn()) {
                advisories.addAll(l.advisoryIds());
                detail.append("; QE isvsvn ").append(r.isvSvn()).append(' ').append(l.status());
                return Optional.of(l.status());
            }
        }
        detail.append("; QE isvsvn ").append(r.isvSvn()).append(" below every level: Revoked");
        return Optional.of(TcbStatus.REVOKED);
    }

    private static boolean maskedEqual(byte[] value, byte[] mask, byte[] expected) {
        if (value.length < mask.length || expected.length != mask.length) return false;
        for (int i = 0; i < mask.length; i++) if ((value[i] & mask[i]) != (expected[i] & mask[i])) return false;
        return true;
    }

    static boolean within(Instant at, Instant from, Instant to) {
        return !at.isBefore(from) && !at.isAfter(to);
    }
}
