package moonlight4j.data;

import moonlight4j.tokenizer.ByteVocabulary;
import moonlight4j.tokenizer.ChatMessage;
import moonlight4j.tokenizer.ChatTemplate;
import moonlight4j.tokenizer.TiktokenLoader;
import moonlight4j.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Labelling a conversation costs work linear in its length, counted as the characters handed to the tokenizer (no
 * timing), and the linear way labels exactly what rendering and tokenizing every assistant turn's prefix labels.
 */
class SftExampleWorkTest {

    private static final Tokenizer BYTES = ByteVocabulary.create();
    private static final String CHATML = "{% for m in messages %}<|im_user|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
            + "{% endfor %}{% if add_generation_prompt %}<|im_user|>assistant\n{% endif %}";

    /** The tokenizer's encode, counting the characters it is given. */
    private static final class Counting implements Function<String, int[]> {
        final Tokenizer tok;
        long chars;

        Counting(Tokenizer tok) {
            this.tok = tok;
        }

        @Override
        public int[] apply(String s) {
            chars += s.length();
            return tok.encode(s);
        }
    }

    /** {@code turns} user/assistant pairs of sums, as the many-turn line. */
    private static List<ChatMessage> conversation(int turns) {
        Random r = new Random(turns);
        List<ChatMessage> m = new ArrayList<>();
        for (int i = 0; i < turns; i++) {
            int a = r.nextInt(100), b = r.nextInt(100);
            m.add(ChatMessage.user("What is " + a + "+" + b + "?"));
            m.add(ChatMessage.assistant(String.valueOf(a + b)));
        }
        return m;
    }

    /** Characters tokenized per character of the rendered conversation. */
    private static double workPerChar(ChatTemplate template, int turns, int maxLength) {
        List<ChatMessage> conv = conversation(turns);
        Counting c = new Counting(BYTES);
        SftExample.of(conv, template, BYTES, c, "test", maxLength);
        return (double) c.chars / template.render(conv, false).length();
    }

    @Test
    void theBuiltInFormatTokenizesEachCharacterOnceHoweverManyTurns() {
        // the whole conversation once; re-tokenizing every assistant turn's prefixes (twice each) would cost about
        // `turns` characters per character: 250 at 250 turns, 2,000 at 2,000
        assertThat(workPerChar(ChatTemplate.moonlight(), 250, Integer.MAX_VALUE)).isEqualTo(1.0);
        assertThat(workPerChar(ChatTemplate.moonlight(), 2000, Integer.MAX_VALUE)).isEqualTo(1.0);
    }

    @Test
    void aJinjaTemplateStopsTokenizingPrefixesAtTheLengthCut() {
        // a Jinja template's prefixes are tokenized one by one, but only up to the --max-length cut: the work per
        // character falls as the conversation grows past it instead of rising with the number of turns
        double w250 = workPerChar(ChatTemplate.jinja(CHATML), 250, 256);
        double w2000 = workPerChar(ChatTemplate.jinja(CHATML), 2000, 256);
        assertThat(w250).isLessThan(1.5);
        assertThat(w2000).isLessThan(1.1).isLessThan(w250);
        SftExample cut = SftExample.of(conversation(40), ChatTemplate.jinja(CHATML), BYTES, "test", 256)
                .truncated(256);
        SftExample whole = SftExample.of(conversation(40), ChatTemplate.jinja(CHATML), BYTES, "test")
                .truncated(256);
        assertThat(cut.labels()).containsExactly(whole.labels());         // the same labels where they are kept
    }

    /** Labels through the blocks equal the labels through every prefix, on the real BPE vocabulary and odd text. */
    @Test
    void labellingByBlocksEqualsLabellingByPrefixes() throws IOException {
        Tokenizer bpe = TiktokenLoader.load(Path.of("..", "golden-data", "tokenizer"));
        List<List<ChatMessage>> convs = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("..", "examples", "sft-arithmetic-chat.jsonl")).subList(0, 60)) {
            convs.add(ChatJsonl.parse(line));
        }
        String[] odd = {"  spaces  ", "<|im_end|>", "<|im_", "end|>", "\n\n", "héllo wörld", "a<|im_middle|>b", "",
                " ", "123456789", "'s 've", "\u00a0\u2003x", "😀 emoji", "<|im_assistant|>assistant<|im_middle|>"};
        Random r = new Random(5);
        for (int n = 0; n < 100; n++) {
            List<ChatMessage> m = new ArrayList<>();
            if (r.nextBoolean()) m.add(ChatMessage.system(odd[r.nextInt(odd.length)] + odd[r.nextInt(odd.length)]));
            for (int t = 0; t < 1 + r.nextInt(4); t++) {
                m.add(ChatMessage.user(odd[r.nextInt(odd.length)] + odd[r.nextInt(odd.length)]));
                String reply = odd[r.nextInt(odd.length)] + odd[r.nextInt(odd.length)];
                m.add(ChatMessage.assistant(reply.isBlank() ? "x" + reply : reply));
            }
            convs.add(m);
        }
        for (Tokenizer tok : new Tokenizer[]{BYTES, bpe}) {
            for (ChatTemplate template : new ChatTemplate[]{ChatTemplate.moonlight(),
                    ChatTemplate.moonlight().withDefaultSystemPrompt("Be brief.")}) {
                for (List<ChatMessage> conv : convs) {
                    SftExample e = SftExample.of(conv, template, tok, "test");
                    int[] byPrefixes = SftExample.byPrefixes(conv, template, tok::encode, "test", e.inputIds(),
                            Integer.MAX_VALUE);
                    assertThat(e.labels()).as(conv.toString()).containsExactly(byPrefixes);
                }
            }
        }
    }

    /** A default system prompt that only the prefixes before a later system message get is still refused. */
    @Test
    void aPrefixInconsistentConversationIsStillRefused() {
        List<ChatMessage> conv = List.of(ChatMessage.user("1+1="), ChatMessage.assistant("2"),
                ChatMessage.system("late"), ChatMessage.user("2+2="), ChatMessage.assistant("4"));
        assertThatThrownBy(() -> SftExample.of(conv, ChatTemplate.moonlight().withDefaultSystemPrompt("Be brief."),
                BYTES, "f.jsonl:3")).hasMessageContaining("f.jsonl:3: the chat template's rendering of the first 2");
    }
}
