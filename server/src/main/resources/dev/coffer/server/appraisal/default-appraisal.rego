# Coffer's default appraisal policy for SEV-SNP evidence that already verified (signature,
# certificate chain, TCB, chip id). Input: {tee, debuggable, measurement, host_data,
# allow_debug, reference_measurements}. Each element of `deny` is {rule, reason}; the
# evidence earns a token only when `deny` is empty.
package appraisal

deny contains {"rule": "not_debuggable", "reason": "the guest policy allows debugging (the host can read guest memory); the server accepts debuggable guests only with allowDebug"} if {
	input.debuggable
	not input.allow_debug
}

deny contains {"rule": "reference_measurement", "reason": msg} if {
	count(input.reference_measurements) > 0
	not input.measurement in input.reference_measurements
	msg := sprintf("MEASUREMENT %s is not among the %d configured reference values", [input.measurement, count(input.reference_measurements)])
}
