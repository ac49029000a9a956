//! Shuffled batches of indices, epoch after epoch, that a resumed run reproduces exactly.
//!
//! Each epoch's order is a shuffle by a `ChaCha8Rng` seeded with the run's seed on a stream
//! numbered by the epoch, so it depends on (seed, epoch) alone: no generator state needs
//! saving, only the position ([`BatchPosition`]: epoch and offset into its order). A run
//! saves the position with its checkpoint and [`Batches::seek`]s to it on resume; the
//! batches that follow are the ones the uninterrupted run would have seen. Each batch also
//! carries its own augmentation RNG ([`Batch::rng`]), derived from (seed, epoch, offset),
//! so augmented pictures are reproduced too.

use moviedreamer_storyworld::seed::mix_seeds;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::error::DataError;

/// Where a [`Batches`] is: the next batch starts at `offset` in the order of `epoch`.
/// An offset equal to the number of items means the epoch is finished.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BatchPosition {
    /// The epoch, from 0.
    pub epoch: u64,
    /// How many items of the epoch's order have been handed out.
    pub offset: usize,
}

/// One batch: the dataset indices to load and where it was taken from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Dataset indices, in the order to load them.
    pub indices: Vec<usize>,
    /// Where this batch starts.
    pub position: BatchPosition,
    rng_seed: u64,
}

impl Batch {
    /// A generator for this batch's augmentation, the same whenever this batch comes round
    /// again (in a resumed run too), and different for every batch.
    pub fn rng(&self) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(self.rng_seed)
    }
}

/// An endless stream of shuffled batches over `len` items.
#[derive(Debug, Clone)]
pub struct Batches {
    len: usize,
    batch_size: usize,
    seed: u64,
    drop_last: bool,
    position: BatchPosition,
    order: Vec<usize>,
}

/// Keeps the augmentation seeds apart from the shuffle's.
const AUGMENT_DOMAIN: u64 = 0x6175_676d_656e_7421;

impl Batches {
    /// Batches of `batch_size` over `len` items, shuffled from `seed`, starting at epoch 0.
    /// With `drop_last`, an epoch's incomplete last batch is skipped so every batch has the
    /// same size; otherwise it is handed out smaller and every item appears once per epoch.
    pub fn new(
        len: usize,
        batch_size: usize,
        seed: u64,
        drop_last: bool,
    ) -> Result<Self, DataError> {
        if batch_size == 0 {
            return Err(DataError::Batches(
                "the batch size must be at least 1".to_owned(),
            ));
        }
        if len == 0 || (drop_last && len < batch_size) {
            return Err(DataError::Batches(format!(
                "{len} items cannot make a batch of {batch_size}: use a smaller batch or more data"
            )));
        }
        Ok(Batches {
            len,
            batch_size,
            seed,
            drop_last,
            position: BatchPosition::default(),
            order: permutation(len, seed, 0),
        })
    }

    /// How many batches make an epoch.
    pub fn batches_per_epoch(&self) -> usize {
        if self.drop_last {
            self.len / self.batch_size
        } else {
            self.len.div_ceil(self.batch_size)
        }
    }

    /// Where the next batch starts; save it with a checkpoint.
    pub fn position(&self) -> BatchPosition {
        self.position
    }

    /// Moves to a saved position, refusing one that these settings could not have reached
    /// (a sign that the dataset or the batch size changed since it was saved).
    pub fn seek(&mut self, position: BatchPosition) -> Result<(), DataError> {
        let offset = position.offset;
        if offset > self.len || (!offset.is_multiple_of(self.batch_size) && offset != self.len) {
            return Err(DataError::Batches(format!(
                "position (epoch {}, offset {offset}) cannot come from {} items in batches of {}: \
                 was it saved with another dataset or batch size?",
                position.epoch, self.len, self.batch_size
            )));
        }
        if position.epoch != self.position.epoch {
            self.order = permutation(self.len, self.seed, position.epoch);
        }
        self.position = position;
        Ok(())
    }

    /// The next batch, moving on to the next epoch's order when this one is used up.
    pub fn next_batch(&mut self) -> Batch {
        let BatchPosition { epoch, offset } = self.position;
        let finished = if self.drop_last {
            offset + self.batch_size > self.len
        } else {
            offset >= self.len
        };
        if finished {
            self.seek_epoch(epoch + 1);
        }
        let start = self.position;
        let end = (start.offset + self.batch_size).min(self.len);
        self.position.offset = end;
        Batch {
            indices: self.order[start.offset..end].to_vec(),
            position: start,
            rng_seed: mix_seeds(
                mix_seeds(self.seed ^ AUGMENT_DOMAIN, start.epoch),
                start.offset as u64,
            ),
        }
    }

    fn seek_epoch(&mut self, epoch: u64) {
        self.order = permutation(self.len, self.seed, epoch);
        self.position = BatchPosition { epoch, offset: 0 };
    }
}

impl Iterator for Batches {
    type Item = Batch;

    /// Never ends: training decides when to stop.
    fn next(&mut self) -> Option<Batch> {
        Some(self.next_batch())
    }
}

/// The order of `0..len` in `epoch`: a shuffle on the epoch's own stream of the seed.
fn permutation(len: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch);
    let mut order: Vec<usize> = (0..len).collect();
    order.shuffle(&mut rng);
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn every_index_appears_once_per_epoch() {
        let mut batches = Batches::new(23, 5, 7, false).unwrap();
        assert_eq!(batches.batches_per_epoch(), 5);
        let mut orders = Vec::new();
        for epoch in 0..3 {
            let mut seen: Vec<usize> = Vec::new();
            for _ in 0..5 {
                let batch = batches.next_batch();
                assert_eq!(batch.position.epoch, epoch);
                seen.extend(&batch.indices);
            }
            orders.push(seen.clone());
            seen.sort();
            assert_eq!(seen, (0..23).collect::<Vec<_>>());
        }
        assert_ne!(orders[0], orders[1], "epochs are shuffled differently");
        assert_ne!(
            orders[0],
            (0..23).collect::<Vec<_>>(),
            "epochs are shuffled"
        );
    }

    #[test]
    fn drop_last_gives_full_batches_only() {
        let mut batches = Batches::new(23, 5, 7, true).unwrap();
        assert_eq!(batches.batches_per_epoch(), 4);
        let mut epoch0 = Vec::new();
        for _ in 0..4 {
            let batch = batches.next_batch();
            assert_eq!(batch.indices.len(), 5);
            epoch0.extend(batch.indices);
        }
        epoch0.sort();
        epoch0.dedup();
        assert_eq!(epoch0.len(), 20, "no index twice in an epoch");
        assert_eq!(
            batches.next_batch().position,
            BatchPosition {
                epoch: 1,
                offset: 0
            }
        );
    }

    #[test]
    fn a_restored_position_gives_the_same_batches() {
        for drop_last in [false, true] {
            let mut uninterrupted = Batches::new(23, 5, 3, drop_last).unwrap();
            let all: Vec<Batch> = uninterrupted.by_ref().take(17).collect();

            let mut first = Batches::new(23, 5, 3, drop_last).unwrap();
            let before: Vec<Batch> = first.by_ref().take(9).collect();
            assert_eq!(before, all[..9]);
            let saved = serde_json::to_string(&first.position()).unwrap();

            let mut resumed = Batches::new(23, 5, 3, drop_last).unwrap();
            resumed.seek(serde_json::from_str(&saved).unwrap()).unwrap();
            let after: Vec<Batch> = resumed.take(8).collect();
            assert_eq!(after, all[9..]);
            let draw = |b: &Batch| b.rng().random::<u64>();
            assert_eq!(draw(&after[0]), draw(&all[9]));
            assert_ne!(draw(&all[0]), draw(&all[1]));
        }
    }

    #[test]
    fn impossible_settings_and_positions_are_refused() {
        assert!(Batches::new(10, 0, 0, false).is_err());
        assert!(Batches::new(0, 4, 0, false).is_err());
        assert!(Batches::new(3, 4, 0, true).is_err());
        let mut batches = Batches::new(10, 4, 0, false).unwrap();
        let err = batches
            .seek(BatchPosition {
                epoch: 2,
                offset: 6,
            })
            .unwrap_err();
        assert!(err.to_string().contains("batch size"), "{err}");
        assert!(
            batches
                .seek(BatchPosition {
                    epoch: 2,
                    offset: 11
                })
                .is_err()
        );
        batches
            .seek(BatchPosition {
                epoch: 2,
                offset: 10,
            })
            .unwrap();
        assert_eq!(
            batches.next_batch().position,
            BatchPosition {
                epoch: 3,
                offset: 0
            }
        );
    }
}
