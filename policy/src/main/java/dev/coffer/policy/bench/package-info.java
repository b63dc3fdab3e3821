/** Enforcement benchmark: create_container decisions per second on a generated policy ({@code coffer policy bench}). */
package dev.coffer.policy.bench;
