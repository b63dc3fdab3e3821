/**
 * AMD Key Distribution Service client with an on-disk cache and an offline mode; failures are
 * {@link dev.coffer.attest.kds.CollateralUnavailableException}, never "invalid evidence".
 */
package dev.coffer.attest.kds;
