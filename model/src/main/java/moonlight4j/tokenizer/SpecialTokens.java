package moonlight4j.tokenizer;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The special tokens of a Moonlight tokenizer: names and ids (docs/tokenizer.md#special-tokens).
 *
 * <p>Moonlight's {@code TikTokenTokenizer} gives the {@code 256 + 2} ids right after the base vocabulary
 * ({@code numBase … numBase + 257}) a name each: the {@code content} of {@code added_tokens_decoder[id]} in
 * {@code tokenizer_config.json} where present, else {@code <|reserved_token_{id}|>}. In the released vocabulary
 * ({@code numBase} = 163,584) the known ones sit at fixed offsets: {@code [BOS]} +0, {@code [EOS]} +1,
 * {@code <|im_end|>} +2, {@code <|im_user|>} +3, {@code <|im_assistant|>} +4, {@code <|im_system|>} +10,
 * {@code <|im_middle|>} +17. {@code [UNK]}/{@code [PAD]} ids are not confirmed by a public source and are not placed by
 * {@link #moonlightLayout}.
 */
public final class SpecialTokens {

    public static final String BOS = "[BOS]";
    public static final String EOS = "[EOS]";
    public static final String IM_END = "<|im_end|>";
    public static final String IM_USER = "<|im_user|>";
    public static final String IM_ASSISTANT = "<|im_assistant|>";
    public static final String IM_SYSTEM = "<|im_system|>";
    public static final String IM_MIDDLE = "<|im_middle|>";

    /** {@code TikTokenTokenizer.num_reserved_special_tokens}. */
    public static final int NUM_RESERVED = 256;
    /** Number of special ids Moonlight's class creates: {@code num_reserved_special_tokens + 2}. */
    public static final int COUNT = NUM_RESERVED + 2;

    /** Offsets (id − numBase) of the known Moonlight special tokens, as in the released vocabulary. */
    public static final Map<String, Integer> MOONLIGHT_OFFSETS;
    static {
        var m = new LinkedHashMap<String, Integer>();
        m.put(BOS, 0);
        m.put(EOS, 1);
        m.put(IM_END, 2);
        m.put(IM_USER, 3);
        m.put(IM_ASSISTANT, 4);
        m.put(IM_SYSTEM, 10);
        m.put(IM_MIDDLE, 17);
        MOONLIGHT_OFFSETS = Collections.unmodifiableMap(m);
    }

    private final Map<String, Integer> idByName; // insertion order = id order
    private final Map<Integer, String> nameById;
    private final int firstId;

    private SpecialTokens(Map<String, Integer> idByName, TreeMap<Integer, String> nameById) {
        this.idByName = Collections.unmodifiableMap(idByName);
        this.nameById = Collections.unmodifiableMap(nameById);
        this.firstId = nameById.isEmpty() ? -1 : nameById.firstKey();
    }

    /**
     * Names the ids {@code numBase … numBase + 257} as Moonlight's class does: {@code addedTokens.get(id)} where
     * present, else {@code <|reserved_token_{id}|>}. Entries of {@code addedTokens} outside that range are ignored,
     * as in the Python class.
     *
     * @throws IllegalArgumentException if two ids end up with the same name (the name could then mean either)
     */
    public static SpecialTokens fromAddedTokens(int numBase, Map<Integer, String> addedTokens) {
        var idByName = new LinkedHashMap<String, Integer>();
        var nameById = new TreeMap<Integer, String>();
        for (int id = numBase; id < numBase + COUNT; id++) {
            String name = addedTokens.getOrDefault(id, reservedName(id));
            if (name.isEmpty()) {
                throw new IllegalArgumentException("special token id " + id + " has an empty name");
            }
            Integer previous = idByName.putIfAbsent(name, id);
            if (previous != null) {
                throw new IllegalArgumentException("special token name " + name + " is given to both id " + previous
                        + " and id " + id);
            }
            nameById.put(id, name);
        }
        return new SpecialTokens(idByName, nameById);
    }

    /** Moonlight's known special tokens at their released offsets after {@code numBase}; the rest reserved. */
    public static SpecialTokens moonlightLayout(int numBase) {
        var added = new TreeMap<Integer, String>();
        MOONLIGHT_OFFSETS.forEach((name, offset) -> added.put(numBase + offset, name));
        return fromAddedTokens(numBase, added);
    }

    /** {@code <|reserved_token_{id}|>}, the name Moonlight gives an unnamed special id. */
    public static String reservedName(int id) {
        return "<|reserved_token_" + id + "|>";
    }

    /** Id of a special token by name. @throws IllegalArgumentException naming the token if there is none */
    public int id(String name) {
        Integer id = idByName.get(name);
        if (id == null) {
            throw new IllegalArgumentException("no special token named " + name + " (the tokenizer has "
                    + idByName.size() + " special tokens, ids " + firstId() + "…" + (firstId() + size() - 1) + ")");
        }
        return id;
    }

    public boolean contains(String name) {
        return idByName.containsKey(name);
    }

    public boolean isSpecial(int id) {
        return nameById.containsKey(id);
    }

    /** Name of a special id, or {@code null} if {@code id} is not special. */
    public String name(int id) {
        return nameById.get(id);
    }

    /** Name → id, in id order. */
    public Map<String, Integer> idByName() {
        return idByName;
    }

    public int size() {
        return idByName.size();
    }

    /** The smallest special id ({@code numBase}). */
    public int firstId() {
        return firstId;
    }
}
