/**
 * Supervised fine-tuning from JSONL conversations, with the loss on assistant tokens only (docs/model.md#loss).
 *
 * <p>Reading order: {@link moonlight4j.sft.SftOptions} → {@link moonlight4j.sft.SftTrainer} (forward,
 * assistant-only loss, the layers' backward, Muon/AdamW on all weights or on LoRA adapters, the router-bias update)
 * → {@link moonlight4j.sft.SftCheckpoint} (checkpoints in {@link moonlight4j.train.TrainCheckpoint}'s layout and
 * all-or-nothing write). Data comes from {@link moonlight4j.data.SftDataset}, adapters from {@code moonlight4j.lora}.
 */
package moonlight4j.sft;
