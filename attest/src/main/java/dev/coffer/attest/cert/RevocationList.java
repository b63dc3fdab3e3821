package dev.coffer.attest.cert;

import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.CertificateList;
import org.bouncycastle.asn1.x509.TBSCertList;

import java.math.BigInteger;
import java.time.Instant;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;

/** A CRL as AMD's KDS serves it (DER, signed by the product's ARK, listing revoked ASKs/ASVKs). */
public final class RevocationList {
    private final CertificateList crl;
    private final byte[] tbs;
    private final Set<BigInteger> revoked = new HashSet<>();

    private RevocationList(byte[] der) {
        try {
            this.crl = CertificateList.getInstance(ASN1Primitive.fromByteArray(der));
        } catch (Exception e) {
            throw new CertificateFormatException("expected a DER X.509 CRL, found " + der.length + " bytes that do not parse ("
                    + e.getMessage() + ")", e);
        }
        if (crl == null) throw new CertificateFormatException("expected a DER X.509 CRL, found an empty structure");
        this.tbs = Der.firstElementOfSequence(der);
        var entries = crl.getRevokedCertificateEnumeration();
        while (entries.hasMoreElements()) {
            TBSCertList.CRLEntry e = (TBSCertList.CRLEntry) entries.nextElement();
            revoked.add(e.getUserCertificate().getValue());
        }
    }

    public static RevocationList fromDer(byte[] der) {
        if (der == null || der.length == 0) throw new CertificateFormatException("expected a DER X.509 CRL, found no bytes");
        return new RevocationList(der.clone());
    }

    CertificateList asn1() { return crl; }
    byte[] tbsBytes() { return tbs; }

    public X500Name issuer() { return crl.getIssuer(); }

    public String issuerCn() {
        var rdns = crl.getIssuer().getRDNs(BCStyle.CN);
        return rdns.length == 0 ? crl.getIssuer().toString() : rdns[0].getFirst().getValue().toString();
    }

    public Optional<Instant> nextUpdate() {
        return Optional.ofNullable(crl.getNextUpdate()).map(t -> t.getDate().toInstant());
    }

    public boolean revokes(AmdCertificate cert) {
        return cert.issuer().equals(crl.getIssuer()) && revoked.contains(cert.serial());
    }

    public int size() {
        return revoked.size();
    }
}
