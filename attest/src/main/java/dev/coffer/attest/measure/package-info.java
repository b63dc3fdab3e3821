/**
 * What a launch is bound to: {@link dev.coffer.attest.measure.LaunchMeasurement} (SHA-384 over
 * named launch artifacts, the simulated MEASUREMENT) and {@link dev.coffer.attest.measure.HostData}
 * (SHA-256 of the policy text).
 */
package dev.coffer.attest.measure;
