/**
 * Coffer's Rego engine: compile once, evaluate many.
 *
 * <pre>{@code
 * CompiledPolicy p = Rego.compile(List.of(new RegoModule("policy.rego", source)));   // RegoException on errors
 * DataStore data = new DataStore();                                                 // thread-safe base documents
 * EvalResult r = p.evalRef("data.policy.create_container", Json.parse(inputJson), data, EvalOptions.DEFAULT);
 * Value decision = r.value();          // null = undefined (distinct from false)
 * List<String> printed = r.prints();   // captured print() output
 * EvalResult q = p.eval("x := data.policy.containers[_].id", input, data, EvalOptions.DEFAULT);   // rows of bindings
 * data.put(List.of("started", "c1"), Value.of(true));   // state kept between requests
 * }</pre>
 *
 * <ul>
 *   <li>{@link dev.coffer.rego.Rego} — compile modules; {@link dev.coffer.rego.Rego.Options} picks the default
 *       syntax (v1, or v0; a module importing {@code rego.v1} is always v1) and extra built-ins.</li>
 *   <li>{@link dev.coffer.rego.CompiledPolicy} — immutable, thread-safe; {@code eval} (query rows) and
 *       {@code evalRef} (one value).</li>
 *   <li>{@link dev.coffer.rego.EvalOptions} — strict built-in errors, limits on steps, depth, time and print output.</li>
 *   <li>{@link dev.coffer.rego.RegoException} — every error, with OPA's code and {@code module:line:column}.</li>
 *   <li>{@link dev.coffer.rego.value.Value} — the value model (BigDecimal numbers, sets, any-keyed objects),
 *       with {@link dev.coffer.rego.value.Json} for JSON text, Jackson trees and plain Java.</li>
 * </ul>
 */
package dev.coffer.rego;
