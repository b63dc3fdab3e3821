# Coffer's default appraisal policy for SEV-SNP evidence that already verified (signature,
# certificate chain, revocation, minimum TCB, chip id) and whose MEASUREMENT already passed the
# service's fail-closed gate (endorsed by a trusted endorser, a reference value, or accepted
# unchecked because the server was started with --accept-any-measurement; that gate is not a
# rule here so that no replacement policy can open it).
# Input: {tee, debuggable, measurement, host_data, allow_debug, reference_measurements, vmpl,
# smt, migration_agent, measurement_source, compliance_status (null unless endorsed)}. Each element
# of `deny` is {rule, reason}; the evidence earns a token only when `deny` is empty.
package appraisal

deny contains {"rule": "not_debuggable", "reason": "the guest policy allows debugging (the host can read guest memory); the server accepts debuggable guests only with allowDebug"} if {
	input.debuggable
	not input.allow_debug
}
