/** Offline replay of host requests against a policy ({@code coffer policy simulate}). */
package dev.coffer.policy.simulate;
