# Coffer's default appraisal policy for Intel SGX enclaves and TDX guests whose DCAP quote already
# verified (attestation-key and QE report signatures, PCK chain to the pinned Intel SGX Root CA,
# CRLs, TCB info and QE identity signed by Intel and inside their windows, a matching TCB level).
# Input: {tee ("sgx"|"tdx"), debuggable, allow_debug, tcb_status, advisory_ids, claims (the token's
# claims, MAA names)}. Each element of `deny` is {rule, reason}; the evidence earns a token only
# when `deny` is empty. An operator who accepts more (a TCB status pending a BIOS update, a listed
# advisory) writes their own policy: $COFFER_HOME/server/dcap-appraisal.rego replaces this one.
package appraisal

deny contains {"rule": "not_debuggable", "reason": sprintf("the %s is debuggable (the host can read its memory); the server accepts debuggable workloads only with allowDebug", [input.tee])} if {
	input.debuggable
	not input.allow_debug
}

deny contains {"rule": "tcb_up_to_date", "reason": sprintf("the platform's TCB status is %s (advisories %v), not UpToDate; an operator policy must accept it explicitly", [input.tcb_status, input.advisory_ids])} if {
	input.tcb_status != "UpToDate"
}
