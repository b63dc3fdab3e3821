package dev.coffer.rego.builtins;

import java.util.HashMap;
import java.util.Map;

/**
 * Which family registers which built-in, so that {@link Builtins#get} links only the
 * families a policy uses. {@code BuiltinIndexTest} fails when this table and the families'
 * registrations differ; its message prints the table to paste here.
 */
final class BuiltinIndex {
    /** "Family: name name ..." lines; an indented line continues the family above. */
    static final String TABLE = """
            Operators: and assign div eq equal gt gte internal.member_2 internal.member_3 internal.print lt lte minus mul
                neq opa.runtime or plus print rem trace walk
            JsonPatch: json.patch
            Aggregates: all any count max min product sort sum
            Strings: concat contains endswith format_int indexof indexof_n lower replace split sprintf startswith
                strings.any_prefix_match strings.any_suffix_match strings.count strings.render_template strings.replace_n
                strings.reverse strings.split_n substring to_number trim trim_left trim_prefix trim_right trim_space
                trim_suffix upper
            Types: cast_array cast_boolean cast_null cast_object cast_set cast_string is_array is_boolean is_null is_number is_object
                is_set is_string set_diff type_name
            Collections2: array.concat array.flatten array.reverse array.slice intersection json.filter json.remove
                object.filter object.get object.keys object.remove object.subset object.union object.union_n union
            Regex: re_match regex.find_all_string_submatch_n regex.find_n regex.globs_match regex.is_valid regex.match regex.replace
                regex.split regex.template_match
            Semver: semver.compare semver.is_valid
            Encoding: base64.decode base64.encode base64.is_valid base64url.decode base64url.encode
                base64url.encode_no_pad hex.decode hex.encode json.is_valid json.marshal json.marshal_with_options
                json.unmarshal urlquery.decode urlquery.decode_object urlquery.encode urlquery.encode_object yaml.is_valid
                yaml.marshal yaml.unmarshal
            Numbers: abs bits.and bits.lsh bits.negate bits.or bits.rsh bits.xor ceil floor numbers.range
                numbers.range_step rand.intn round
            Units: units.parse units.parse_bytes
            Times: time.add_date time.clock time.date time.diff time.format time.now_ns time.parse_duration_ns
                time.parse_ns time.parse_rfc3339_ns time.weekday
            Crypto: crypto.hmac.equal crypto.hmac.md5 crypto.hmac.sha1 crypto.hmac.sha256 crypto.hmac.sha512 crypto.md5
                crypto.sha1 crypto.sha256 crypto.sha384 crypto.sha512
            Glob: glob.match glob.quote_meta
            Jwt: io.jwt.decode io.jwt.decode_verify io.jwt.encode_sign io.jwt.encode_sign_raw io.jwt.verify_eddsa
                io.jwt.verify_es256 io.jwt.verify_es384 io.jwt.verify_es512 io.jwt.verify_hs256 io.jwt.verify_hs384
                io.jwt.verify_hs512 io.jwt.verify_ps256 io.jwt.verify_ps384 io.jwt.verify_ps512 io.jwt.verify_rs256
                io.jwt.verify_rs384 io.jwt.verify_rs512
            Net: net.cidr_contains net.cidr_contains_matches net.cidr_expand net.cidr_intersects net.cidr_is_valid
                net.cidr_merge net.cidr_overlap net.lookup_ip_addr
            Graphs: graph.reachable graph.reachable_paths
            Uuids: uuid.parse uuid.rfc4122
            Uris: uri.is_valid uri.parse
            X509: crypto.parse_private_keys crypto.x509.parse_and_verify_certificates
                crypto.x509.parse_certificate_request crypto.x509.parse_certificates crypto.x509.parse_keypair
                crypto.x509.parse_rsa_private_key
            AwsSigning: providers.aws.sign_req
            JsonSchema: json.match_schema json.verify_schema
            GraphQlBuiltins: graphql.is_valid graphql.parse graphql.parse_and_verify graphql.parse_query graphql.parse_schema
                graphql.schema_is_valid
            HttpSend: http.send
            RegoModules: rego.parse_module
            """;

    static final Map<String, String> FAMILY_OF = parse(TABLE);

    private BuiltinIndex() {
    }

    static Map<String, String> parse(String table) {
        Map<String, String> out = new HashMap<>();
        String family = null;
        for (String line : table.split("\n")) {
            if (line.isBlank()) continue;
            String names = line;
            if (!Character.isWhitespace(line.charAt(0))) {
                int colon = line.indexOf(':');
                family = line.substring(0, colon);
                names = line.substring(colon + 1);
            }
            for (String n : names.trim().split(" +")) if (!n.isEmpty()) out.put(n, family);
        }
        return out;
    }
}
