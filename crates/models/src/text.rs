//! Text into the planner: a word vocabulary and a small transformer text encoder trained
//! with the planner.
//!
//! The vocabulary is a `tokenizers` word-level tokenizer saved as the standard
//! `tokenizer.json`, so a pretrained sentence encoder's own `tokenizer.json` can take its
//! place later behind the same [`Vocabulary`] type. The encoder turns each text into one
//! vector: embeddings, a few pre-norm transformer blocks that ignore padding, and a mean
//! over the words.

use std::path::Path;

use candle_core::{D, DType, Device, Module, Result, Tensor};
use candle_nn::{Embedding, VarBuilder, embedding};
use moviedreamer_nn::init::SMALL;
use moviedreamer_nn::layers::{LayerNorm, TransformerBlock};
use serde::{Deserialize, Serialize};
use tokenizers::models::TrainerWrapper;
use tokenizers::models::wordlevel::{WordLevel, WordLevelTrainer};
use tokenizers::normalizers::Lowercase;
use tokenizers::pre_tokenizers::whitespace::Whitespace;
use tokenizers::{AddedToken, Tokenizer};

/// The word every unknown word becomes.
const UNKNOWN: &str = "[UNK]";
/// The word that fills short texts up to the batch's longest.
const PADDING: &str = "[PAD]";

/// Why a vocabulary could not be built, read or written.
#[derive(Debug, thiserror::Error)]
#[error("{context}: {source}")]
pub struct VocabularyError {
    context: String,
    #[source]
    source: tokenizers::Error,
}

impl VocabularyError {
    fn new(context: impl Into<String>, source: tokenizers::Error) -> Self {
        VocabularyError {
            context: context.into(),
            source,
        }
    }
}

/// Words to ids, and texts to padded batches of ids.
#[derive(Clone)]
pub struct Vocabulary {
    tokenizer: Tokenizer,
    padding: u32,
}

impl std::fmt::Debug for Vocabulary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Vocabulary({} words)", self.len())
    }
}

impl Vocabulary {
    /// Builds a lower-cased word vocabulary from `texts`, keeping words seen at least
    /// `min_count` times (the others read as unknown, which teaches the encoder to cope
    /// with words it never saw).
    pub fn build<I, S>(texts: I, min_count: u64) -> std::result::Result<Self, VocabularyError>
    where
        I: Iterator<Item = S> + Send,
        S: AsRef<str> + Send,
    {
        let model = WordLevel::builder()
            .unk_token(UNKNOWN.to_owned())
            .build()
            .map_err(|e| VocabularyError::new("word-level model", e))?;
        let mut tokenizer = Tokenizer::new(model);
        tokenizer
            .with_normalizer(Some(Lowercase))
            .map_err(|e| VocabularyError::new("normaliser", e))?;
        tokenizer.with_pre_tokenizer(Some(Whitespace {}));
        let mut trainer: TrainerWrapper = WordLevelTrainer::builder()
            .min_frequency(min_count)
            .show_progress(false)
            .special_tokens(vec![
                AddedToken::from(PADDING, true),
                AddedToken::from(UNKNOWN, true),
            ])
            .build()
            .map_err(|e| VocabularyError::new("word-level trainer", e.into()))?
            .into();
        tokenizer
            .train(&mut trainer, texts)
            .map_err(|e| VocabularyError::new("building the vocabulary", e))?;
        Self::from_tokenizer(tokenizer, "the built vocabulary")
    }

    /// Reads a `tokenizer.json`.
    pub fn load(path: &Path) -> std::result::Result<Self, VocabularyError> {
        let tokenizer = Tokenizer::from_file(path)
            .map_err(|e| VocabularyError::new(path.display().to_string(), e))?;
        Self::from_tokenizer(tokenizer, &path.display().to_string())
    }

    fn from_tokenizer(
        tokenizer: Tokenizer,
        what: &str,
    ) -> std::result::Result<Self, VocabularyError> {
        let padding = tokenizer.token_to_id(PADDING).ok_or_else(|| {
            VocabularyError::new(
                what,
                format!("has no {PADDING} word; it was not made by moviedreamer").into(),
            )
        })?;
        Ok(Vocabulary { tokenizer, padding })
    }

    /// Writes it as `tokenizer.json` at `path` (through a temporary file).
    pub fn save(&self, path: &Path) -> std::result::Result<(), VocabularyError> {
        let partial = path.with_extension("json.partial");
        self.tokenizer
            .save(&partial, true)
            .map_err(|e| VocabularyError::new(path.display().to_string(), e))?;
        std::fs::rename(&partial, path)
            .map_err(|e| VocabularyError::new(path.display().to_string(), e.into()))
    }

    /// Words known, the two special ones included.
    pub fn len(&self) -> usize {
        self.tokenizer.get_vocab_size(true)
    }

    /// Whether it knows no word (never, once built).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ids of `text`'s words, at most `max_words`, at least one (an empty text is one
    /// padding word, so that every text has a mean).
    pub fn encode(
        &self,
        text: &str,
        max_words: usize,
    ) -> std::result::Result<Vec<u32>, VocabularyError> {
        let encoding = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| VocabularyError::new(format!("encoding \"{text}\""), e))?;
        let mut ids: Vec<u32> = encoding.get_ids().iter().take(max_words).copied().collect();
        if ids.is_empty() {
            ids.push(self.padding);
        }
        Ok(ids)
    }

    /// Encodes `texts` into ids (batch, words) padded to the longest, and a mask (batch,
    /// words) of 1 for words and 0 for padding.
    pub fn encode_batch(
        &self,
        texts: &[&str],
        max_words: usize,
        device: &Device,
    ) -> std::result::Result<TextBatch, VocabularyError> {
        let encoded = texts
            .iter()
            .map(|text| self.encode(text, max_words))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        TextBatch::pad(&encoded, self.padding, device)
            .map_err(|e| VocabularyError::new("text batch", e.to_string().into()))
    }
}

/// Texts as padded ids, ready for [`TextEncoder::forward`].
#[derive(Debug, Clone)]
pub struct TextBatch {
    /// (batch, words) u32.
    pub ids: Tensor,
    /// (batch, words) f32: 1 for a word, 0 for padding.
    pub mask: Tensor,
}

impl TextBatch {
    /// Pads id lists to the longest with `padding`.
    pub fn pad(texts: &[Vec<u32>], padding: u32, device: &Device) -> Result<Self> {
        let longest = texts.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let mut ids = Vec::with_capacity(texts.len() * longest);
        let mut mask = Vec::with_capacity(texts.len() * longest);
        for text in texts {
            ids.extend(
                text.iter()
                    .copied()
                    .chain(std::iter::repeat_n(padding, longest - text.len())),
            );
            mask.extend(
                std::iter::repeat_n(1f32, text.len())
                    .chain(std::iter::repeat_n(0f32, longest - text.len())),
            );
        }
        Ok(TextBatch {
            ids: Tensor::from_vec(ids, (texts.len(), longest), device)?,
            mask: Tensor::from_vec(mask, (texts.len(), longest), device)?,
        })
    }
}

/// Sizes of a text encoder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextEncoderConfig {
    /// Words in the vocabulary.
    pub vocab_size: usize,
    /// Width of the word embeddings and of the output.
    pub dim: usize,
    /// Transformer blocks.
    pub depth: usize,
    /// Attention heads.
    pub heads: usize,
    /// Longest text in words; longer ones are cut.
    pub max_words: usize,
}

/// Ids → one vector per text.
#[derive(Debug, Clone)]
pub struct TextEncoder {
    words: Embedding,
    positions: Tensor,
    blocks: Vec<TransformerBlock>,
    norm: LayerNorm,
}

impl TextEncoder {
    /// Builds the encoder under `vb`.
    pub fn new(cfg: &TextEncoderConfig, vb: VarBuilder) -> Result<Self> {
        let blocks = (0..cfg.depth)
            .map(|i| TransformerBlock::new(cfg.dim, cfg.heads, 4.0, vb.pp(format!("blocks.{i}"))))
            .collect::<Result<_>>()?;
        Ok(TextEncoder {
            words: embedding(cfg.vocab_size, cfg.dim, vb.pp("words"))?,
            positions: vb.get_with_hints((cfg.max_words, cfg.dim), "positions", SMALL)?,
            blocks,
            norm: LayerNorm::new(cfg.dim, true, 1e-6, vb.pp("norm"))?,
        })
    }

    /// A batch of texts → (batch, dim): the mean of the encoded words, padding left out.
    pub fn forward(&self, texts: &TextBatch, train: bool) -> Result<Tensor> {
        let (batch, words) = texts.ids.dims2()?;
        if words > self.positions.dim(0)? {
            candle_core::bail!(
                "a text of {words} words is longer than the encoder's {}",
                self.positions.dim(0)?
            );
        }
        let mut x = self
            .words
            .forward(&texts.ids)?
            .broadcast_add(&self.positions.narrow(0, 0, words)?)?;
        // Padding is never attended to: −∞ on its columns (batch, 1, 1, words).
        let padding = ((texts.mask.ones_like()? - &texts.mask)? * -1e9)?
            .reshape((batch, 1, 1, words))?
            .to_dtype(DType::F32)?;
        for block in &self.blocks {
            x = block.forward(&x, Some(&padding), train)?;
        }
        let x = self.norm.forward(&x, train)?;
        let mask = texts.mask.unsqueeze(D::Minus1)?;
        let summed = x.broadcast_mul(&mask)?.sum(1)?;
        summed.broadcast_div(&mask.sum(1)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_nn::VarMap;
    use moviedreamer_nn::grad_check::assert_full_coverage;
    use moviedreamer_nn::init::seeded_var_builder;
    use moviedreamer_nn::ops::max_abs_diff;

    fn vocabulary() -> Vocabulary {
        let texts = [
            "Mara waves at Ivo.",
            "Ivo walks to the lighthouse.",
            "Mara sits by the lighthouse.",
        ];
        Vocabulary::build(texts.iter(), 1).unwrap()
    }

    #[test]
    fn words_are_lower_cased_and_unknown_words_share_one_id() {
        let vocabulary = vocabulary();
        let a = vocabulary.encode("MARA waves", 16).unwrap();
        let b = vocabulary.encode("mara waves", 16).unwrap();
        assert_eq!(a, b);
        let unknown = vocabulary.encode("zebra giraffe", 16).unwrap();
        assert_eq!(unknown[0], unknown[1]);
        assert_ne!(unknown[0], a[0]);
        assert_eq!(vocabulary.encode("", 16).unwrap().len(), 1);
        assert_eq!(vocabulary.encode("mara waves at ivo", 2).unwrap().len(), 2);
    }

    #[test]
    fn a_saved_vocabulary_reads_back_the_same() {
        let vocabulary = vocabulary();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokenizer.json");
        vocabulary.save(&path).unwrap();
        let loaded = Vocabulary::load(&path).unwrap();
        assert_eq!(loaded.len(), vocabulary.len());
        let text = "Ivo waves at the lighthouse";
        assert_eq!(
            loaded.encode(text, 16).unwrap(),
            vocabulary.encode(text, 16).unwrap()
        );
        let missing = Vocabulary::load(&dir.path().join("none.json")).unwrap_err();
        assert!(missing.to_string().contains("none.json"));
    }

    #[test]
    fn padding_does_not_change_a_texts_vector_and_every_weight_learns() {
        let vocabulary = vocabulary();
        let cfg = TextEncoderConfig {
            vocab_size: vocabulary.len(),
            dim: 16,
            depth: 1,
            heads: 2,
            max_words: 8,
        };
        let varmap = VarMap::new();
        let encoder = TextEncoder::new(&cfg, seeded_var_builder(&varmap, 0)).unwrap();
        let device = Device::Cpu;
        let alone = vocabulary
            .encode_batch(&["mara waves"], 8, &device)
            .unwrap();
        let padded = vocabulary
            .encode_batch(&["mara waves", "ivo walks to the lighthouse"], 8, &device)
            .unwrap();
        assert_eq!(padded.ids.dims(), &[2, 5]);
        let a = encoder.forward(&alone, false).unwrap();
        let b = encoder.forward(&padded, false).unwrap();
        assert!(max_abs_diff(&a, &b.narrow(0, 0, 1).unwrap()).unwrap() < 1e-5);
        let train = encoder.forward(&padded, true).unwrap();
        assert!(max_abs_diff(&b, &train).unwrap() < 1e-5);
        assert_full_coverage(&varmap, &train.sqr().unwrap().sum_all().unwrap());
    }
}
