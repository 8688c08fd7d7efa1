package moonlight4j.verify;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code tolerance} metadata of a case and the rules of golden-data/FORMAT.md §4 for which key covers which
 * tensor:
 * <ul>
 *   <li>a key names a tensor exactly ({@code out.X});</li>
 *   <li>a key ending in {@code .*} covers every name starting with the part before the {@code *}
 *       ({@code out.grad.*});</li>
 *   <li>a key without {@code .*} that is a prefix of a name followed by {@code .} covers it
 *       ({@code out.fp32ns.stepK.param} covers {@code out.fp32ns.step3.param.<name>});</li>
 *   <li>{@code stepK} stands for {@code step1}, {@code step2}, …; text in parentheses is a comment.</li>
 * </ul>
 * When several keys cover a name, an exact key wins, then the longest key. An entry may add a gap-ratio check
 * ({@code "max_gap_ratio": ρ, "gap_ref": NAME}, FORMAT §4): {@link #reference} maps a covered tensor to its reference.
 */
public final class ToleranceTable {

    /** {@code prefix} matches a covered name as (key part, suffix); {@code exact} matches the key itself, or null. */
    private record Rule(String key, Pattern prefix, Pattern exact, Tolerance tolerance) {
    }

    private final List<Rule> rules = new ArrayList<>();

    /**
     * @param json   the parsed {@code tolerance} object: key → {@code {"abs": A, "rel": R, ...}}
     * @param source names the file in error messages
     */
    public ToleranceTable(JsonNode json, String source) {
        if (json == null || !json.isObject()) {
            throw new IllegalArgumentException(source + ": metadata 'tolerance' must be a JSON object, got " + json);
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = json.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode v = e.getValue();
            if (!v.isObject() || !v.has("abs")) {
                throw new IllegalArgumentException(source + ": tolerance '" + e.getKey()
                        + "' must be an object with \"abs\" (and \"rel\"), got " + v);
            }
            double abs = number(v.get("abs"), source, e.getKey(), "abs");
            double rel = number(v.get("rel"), source, e.getKey(), "rel");
            String key = stripComment(e.getKey());
            rules.add(rule(key, gapCheck(v, source, e.getKey(), key, new Tolerance(abs, rel, e.getKey()))));
        }
    }

    /** A missing or null bound is 0 (e.g. {@code "rel": null} next to {@code "abs": 0} for integers). */
    private static double number(JsonNode n, String source, String key, String field) {
        if (n == null || n.isNull()) return 0;
        if (!n.isNumber()) {
            throw new IllegalArgumentException(source + ": tolerance '" + key + "' field '" + field
                    + "' must be a number, got " + n);
        }
        return n.doubleValue();
    }

    /** The tolerance with the entry's gap-ratio check, if it has one: both fields or neither. */
    private static Tolerance gapCheck(JsonNode v, String source, String rawKey, String key, Tolerance t) {
        JsonNode rho = v.get("max_gap_ratio"), ref = v.get("gap_ref");
        boolean hasRho = rho != null && !rho.isNull(), hasRef = ref != null && !ref.isNull();
        if (!hasRho && !hasRef) return t;
        if (!hasRho || !hasRef) {
            throw new IllegalArgumentException(source + ": tolerance '" + rawKey
                    + "' must have both \"max_gap_ratio\" and \"gap_ref\" or neither, got " + v);
        }
        double r = number(rho, source, rawKey, "max_gap_ratio");
        if (!(r >= 0) || !ref.isTextual() || ref.asText().isEmpty()) {
            throw new IllegalArgumentException(source + ": tolerance '" + rawKey
                    + "' needs a number max_gap_ratio ≥ 0 and a tensor name gap_ref, got " + rho + ", " + ref);
        }
        if (key.endsWith(".*") != ref.asText().endsWith(".*")) {
            throw new IllegalArgumentException(source + ": tolerance '" + rawKey + "' has gap_ref '" + ref.asText()
                    + "': a key ending in .* needs a gap_ref ending in .* (and only then)");
        }
        return new Tolerance(t.abs(), t.rel(), t.key(), r, ref.asText());
    }

    static String stripComment(String key) {
        return key.replaceAll("\\s*\\(.*\\)\\s*$", "").trim();
    }

    private static Rule rule(String key, Tolerance t) {
        if (key.endsWith(".*")) {                                              // "out.grad.*": a prefix
            return new Rule(key, Pattern.compile("(" + regex(key.substring(0, key.length() - 1)) + ")(.*)"), null, t);
        }
        return new Rule(key, Pattern.compile("(" + regex(key) + ")(\\..*)"), Pattern.compile(regex(key)), t);
    }

    /** The key as a regular expression: literal text, {@code stepK} matching {@code step1}, {@code step2}, …. */
    private static String regex(String key) {
        StringBuilder sb = new StringBuilder();
        String[] parts = key.split("stepK", -1);
        for (int i = 0; i < parts.length; i++) {
            if (i > 0) sb.append("step[0-9]+");
            if (!parts[i].isEmpty()) sb.append(Pattern.quote(parts[i]));
        }
        return sb.toString();
    }

    /** The tolerance whose key covers {@code name}, if any: an exact key first, then the longest key. */
    public Optional<Tolerance> covering(String name) {
        return coveringRule(name).map(Rule::tolerance);
    }

    private Optional<Rule> coveringRule(String name) {
        Rule best = null;
        boolean bestExact = false;
        for (Rule r : rules) {
            boolean exact = r.exact != null && r.exact.matcher(name).matches();
            if (!exact && !r.prefix.matcher(name).matches()) continue;
            if (best == null || (exact && !bestExact) || (exact == bestExact && r.key.length() > best.key.length())) {
                best = r;
                bestExact = exact;
            }
        }
        return Optional.ofNullable(best);
    }

    /**
     * The reference tensor of {@code name}'s gap-ratio check (golden-data/FORMAT.md §4), empty when its tolerance has none: for a key
     * that names the tensor (or that a {@code _sorted} tensor falls back to), {@code gap_ref} itself; for a key
     * covering a prefix, {@code gap_ref}'s prefix followed by the rest of the name.
     */
    public Optional<String> reference(String name) {
        Optional<Rule> r = coveringRule(name);
        if (r.isEmpty() && name.endsWith("_sorted")) {
            String base = name.substring(0, name.length() - "_sorted".length());
            return coveringRule(base).filter(b -> b.tolerance.hasGapCheck()).map(b -> refOf(b, base));
        }
        return r.filter(b -> b.tolerance.hasGapCheck()).map(b -> refOf(b, name));
    }

    /** The reference of {@code name} under rule r; a {@code stepK} in gap_ref takes the step the name has. */
    private static String refOf(Rule r, String name) {
        String ref = r.tolerance.gapRef();
        Matcher step = STEP.matcher(name);
        if (r.key.contains("stepK") && step.find()) ref = ref.replace("stepK", step.group());
        if (r.exact != null && r.exact.matcher(name).matches()) return ref;
        Matcher m = r.prefix.matcher(name);
        if (!m.matches()) throw new IllegalStateException(r.key + " does not cover " + name);
        return (ref.endsWith(".*") ? ref.substring(0, ref.length() - 1) : ref) + m.group(2);
    }

    private static final Pattern STEP = Pattern.compile("step[0-9]+");

    /**
     * The tolerance of a tensor by golden-data/FORMAT.md §4: the covering key; else integers exact; else a float {@code *_sorted}
     * tensor takes the tolerance of the name without {@code _sorted}; else the loosest tolerance of the case.
     */
    public Tolerance forTensor(String name, boolean integer) {
        if (integer) return Tolerance.exact("exact (integer)");
        Optional<Tolerance> t = covering(name);
        if (t.isPresent()) return t.get();
        if (name.endsWith("_sorted")) return forTensor(name.substring(0, name.length() - "_sorted".length()), false);
        return loosest().orElseThrow(() -> new IllegalArgumentException("no tolerance covers '" + name
                + "' and the case lists none"));
    }

    /** The loosest tolerance listed (largest abs, then rel). */
    public Optional<Tolerance> loosest() {
        Tolerance best = null;
        for (Rule r : rules) if (best == null || r.tolerance.looserThan(best)) best = r.tolerance;
        return Optional.ofNullable(best).map(t -> new Tolerance(t.abs(), t.rel(), "loosest: " + t.key()));
    }

    public int size() {
        return rules.size();
    }
}
