package moonlight4j.data;

import moonlight4j.tokenizer.ByteVocabulary;
import moonlight4j.tokenizer.ChatMessage;
import moonlight4j.tokenizer.ChatTemplate;
import moonlight4j.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SftDataTest {

    private static final Tokenizer TOK = ByteVocabulary.create();
    private static final Path EXAMPLE = Path.of("..", "examples", "sft-arithmetic-chat.jsonl");

    /** The text of the labelled tokens, and of the unlabelled ones. */
    private static String[] split(SftExample e) {
        List<Integer> learned = new ArrayList<>(), context = new ArrayList<>();
        for (int i = 0; i < e.length(); i++) {
            if (e.labels()[i] == SftExample.IGNORE) context.add(e.inputIds()[i]);
            else {
                assertThat(e.labels()[i]).isEqualTo(e.inputIds()[i]);
                learned.add(e.inputIds()[i]);
            }
        }
        return new String[]{TOK.decode(learned.stream().mapToInt(Integer::intValue).toArray()),
                TOK.decode(context.stream().mapToInt(Integer::intValue).toArray())};
    }

    @Test
    void onlyAssistantRepliesAndTheirEndMarkerAreLearned() {
        List<ChatMessage> conv = List.of(ChatMessage.system("be terse"), ChatMessage.user("1+2="),
                ChatMessage.assistant("3"), ChatMessage.user("What is 4+4?"), ChatMessage.assistant("8"));
        SftExample e = SftExample.of(conv, ChatTemplate.moonlight(), TOK, "test");
        assertThat(e.inputIds()).containsExactly(ChatTemplate.moonlight().encode(TOK, conv, false));
        String[] s = split(e);
        assertThat(s[0]).isEqualTo("3<|im_end|>8<|im_end|>");
        assertThat(s[1]).isEqualTo("<|im_system|>system<|im_middle|>be terse<|im_end|><|im_user|>user<|im_middle|>1+2="
                + "<|im_end|><|im_assistant|>assistant<|im_middle|><|im_user|>user<|im_middle|>What is 4+4?<|im_end|>"
                + "<|im_assistant|>assistant<|im_middle|>");
        assertThat(e.targets()).isEqualTo(4);
    }

    @Test
    void aJinjaTemplateIsMaskedThroughItsOwnRendering() {
        String chatml = "{% for m in messages %}<|im_user|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
                + "{% if add_generation_prompt %}<|im_user|>assistant\n{% endif %}";
        List<ChatMessage> conv = List.of(ChatMessage.user("hi"), ChatMessage.assistant("hello there"));
        String[] s = split(SftExample.of(conv, ChatTemplate.jinja(chatml), TOK, "test"));
        assertThat(s[0]).isEqualTo("hello there<|im_end|>\n");
        assertThat(s[1]).isEqualTo("<|im_user|>user\nhi<|im_end|>\n<|im_user|>assistant\n");
    }

    @Test
    void badLinesNameFileAndLineOrAreSkippedAndCounted(@TempDir Path tmp) throws Exception {
        String good = "{\"messages\":[{\"role\":\"user\",\"content\":\"1+1=\"},{\"role\":\"assistant\",\"content\":\"2\"}]}";
        String[][] cases = {
                {"{not json", "not valid JSON"},
                {"[1, 2]", "expected a JSON object"},
                {"{\"conversation\": []}", "no \"messages\" field"},
                {"{\"messages\": []}", "non-empty array"},
                {"{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"},{\"role\":\"assistant\",\"content\":\"y\"}]}",
                        "unknown role \"tool\""},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"assistant\",\"content\":\"  \"}]}",
                        "message 1 is an empty assistant turn"},
                {"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "no assistant turn"},
                {"{\"messages\":[{\"role\":\"user\"}]}", "string \"role\" and \"content\""},
        };
        for (String[] c : cases) {
            Path f = tmp.resolve("d.jsonl");
            Files.writeString(f, good + "\n\n" + c[0] + "\n" + good + "\n");
            assertThatThrownBy(() -> ChatJsonl.read(f, false)).as(c[0])
                    .hasMessageContaining(f + ":3: ").hasMessageContaining(c[1]).hasMessageContaining("--skip-bad-lines");
            ChatJsonl.Read r = ChatJsonl.read(f, true);
            assertThat(r.skipped()).isEqualTo(1);
            assertThat(r.conversations()).hasSize(2);
            assertThat(r.conversations().get(1).line()).isEqualTo(4);
            assertThat(r.skipReasons().get(0)).contains(":3: ").contains(c[1]);
        }
        assertThatThrownBy(() -> ChatJsonl.read(tmp.resolve("missing.jsonl"), false)).hasMessageContaining("missing.jsonl");
    }

    @Test
    void theShuffleAndSplitFollowTheSeed() throws Exception {
        SftDataset a = SftDataset.load(EXAMPLE, TOK, ChatTemplate.moonlight(), 512, 0.1, 1, false);
        SftDataset b = SftDataset.load(EXAMPLE, TOK, ChatTemplate.moonlight(), 512, 0.1, 1, false);
        SftDataset c = SftDataset.load(EXAMPLE, TOK, ChatTemplate.moonlight(), 512, 0.1, 2, false);
        assertThat(a.validation()).hasSize(24);
        assertThat(a.train()).hasSize(216);
        assertThat(ids(a.validation())).isEqualTo(ids(b.validation()));
        assertThat(ids(a.validation())).isNotEqualTo(ids(c.validation()));
        assertThat(ids(a.trainBatches(8, 1, 0).stream().map(x -> new SftExample(toInts(x.inputIds()), toInts(x.labels())))
                .toList())).isEqualTo(ids(b.trainBatches(8, 1, 0).stream()
                .map(x -> new SftExample(toInts(x.inputIds()), toInts(x.labels()))).toList()));
        assertThat(a.trainBatches(8, 1, 0).get(0).inputIds()).isNotEqualTo(a.trainBatches(8, 1, 1).get(0).inputIds());
        assertThat(a.summary()).contains("216 train / 24 validation").contains("padding");
    }

    @Test
    void batchesArePaddedOnTheRightWithIgnoredLabels() {
        SftExample x = SftExample.of(List.of(ChatMessage.user("a"), ChatMessage.assistant("bc")),
                ChatTemplate.moonlight(), TOK, "t");
        SftExample y = SftExample.of(List.of(ChatMessage.user("longer question"), ChatMessage.assistant("d")),
                ChatTemplate.moonlight(), TOK, "t");
        SftBatch b = SftDataset.batches(List.of(x, y), 4, 257).get(0);
        assertThat(b.batch()).isEqualTo(2);
        assertThat(b.time()).isEqualTo(y.length());
        for (int j = x.length(); j < b.time(); j++) {
            assertThat(b.inputIds()[j]).isEqualTo(257);
            assertThat(b.labels()[j]).isEqualTo(SftExample.IGNORE);
        }
        assertThat(b.targets()).isEqualTo(x.targets() + y.targets());   // "bc<|im_end|>" + "d<|im_end|>"
        assertThat(b.targets()).isEqualTo(5);
    }

    @Test
    void longExamplesAreCutAtMaxLengthAndCounted() throws Exception {
        // the longest example conversation is > 60 bytes; cutting at 40 drops those whose replies lie beyond it
        SftDataset d = SftDataset.load(EXAMPLE, TOK, ChatTemplate.moonlight(), 40, 0, 1, false);
        for (SftExample e : d.train()) assertThat(e.length()).isLessThanOrEqualTo(40);
        assertThat(d.summary()).containsPattern("[1-9]\\d* truncated");
    }

    @Test
    void theShippedExampleIsValidAndItsAnswersAreRight() throws Exception {
        ChatJsonl.Read r = ChatJsonl.read(EXAMPLE, false);
        assertThat(r.conversations()).hasSize(240);
        Pattern q = Pattern.compile("(?:What is )?(\\d+)([+-])(\\d+)(?:=|\\?)");
        int checked = 0;
        for (ChatJsonl.Conversation c : r.conversations()) {
            for (int i = 0; i < c.messages().size(); i++) {
                if (!c.messages().get(i).role().equals("assistant")) continue;
                Matcher m = q.matcher(c.messages().get(i - 1).content());
                assertThat(m.matches()).as(c.where()).isTrue();
                long a = Long.parseLong(m.group(1)), b = Long.parseLong(m.group(3));
                long want = m.group(2).equals("+") ? a + b : a - b;
                assertThat(c.messages().get(i).content()).as(c.where()).isEqualTo(Long.toString(want));
                checked++;
            }
        }
        assertThat(checked).isGreaterThan(240);
    }

    private static List<String> ids(List<SftExample> es) {
        return es.stream().map(e -> Arrays.toString(e.inputIds())).toList();
    }

    private static int[] toInts(long[] a) {
        return Arrays.stream(a).mapToInt(x -> (int) x).toArray();
    }
}
