/**
 * Supervised fine-tuning from JSONL conversations: {@link moonlight4j.sft.SftOptions} → {@link moonlight4j.sft.SftTrainer}
 * (forward, assistant-only loss, the layers' backward, Muon/AdamW on all weights or on LoRA adapters). Data comes from
 * {@link moonlight4j.data.SftDataset}, adapters from {@link moonlight4j.lora}.
 */
package moonlight4j.sft;
