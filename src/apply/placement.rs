//! Which engine of the pool runs a step, as a pure state machine beside [`super::schedule`]
//! (which decides *when* a step may run): a step goes to an engine with a free slot that
//! already holds what it needs (the image's previous build, whose layers are its cache; else
//! its base; else anything), ties to the least loaded. An engine marked down gets nothing,
//! and a step it was running is moved to another a bounded number of times.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::model::Address;

/// How many times a step may be moved off an engine that went away before it fails.
pub const MAX_MOVES: usize = 2;

/// What a step would like an engine to hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs<'a> {
    /// The engine that built the image's previous version (the state says): its layers.
    pub built_on: Option<&'a str>,
    /// The base image it builds on.
    pub base: Option<&'a Address>,
}

/// One engine, as placement sees it.
#[derive(Debug, Clone)]
struct Slot {
    name: String,
    parallelism: usize,
    running: usize,
    up: bool,
    /// The resources whose images it holds (bases pulled, images built).
    holds: HashSet<Address>,
}

impl Slot {
    fn free(&self) -> usize {
        if self.up {
            self.parallelism.max(1).saturating_sub(self.running)
        } else {
            0
        }
    }
}

/// Why a step is not moved again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Stranded {
    #[error("moved {MAX_MOVES} times off engines that went away; not moved again")]
    TooManyMoves,
    #[error("no engine is left to run it")]
    NoEngineLeft,
}

/// The engines of one apply, what each runs and holds, and the steps moved between them.
#[derive(Debug, Clone)]
pub struct Pool {
    slots: Vec<Slot>,
    moves: HashMap<Address, usize>,
    /// Per engine that went away: how many steps went to each other engine.
    moved: BTreeMap<usize, BTreeMap<usize, usize>>,
}

impl Pool {
    /// Engines by name and parallelism, in the order ties are broken in.
    pub fn new<'a>(engines: impl IntoIterator<Item = (&'a str, usize)>) -> Pool {
        let slots = engines
            .into_iter()
            .map(|(name, parallelism)| Slot {
                name: name.to_string(),
                parallelism,
                running: 0,
                up: true,
                holds: HashSet::new(),
            })
            .collect();
        Pool {
            slots,
            moves: HashMap::new(),
            moved: BTreeMap::new(),
        }
    }

    /// The engine named `name`, if the pool has it.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.slots.iter().position(|s| s.name == name)
    }

    pub fn name(&self, engine: usize) -> &str {
        &self.slots[engine].name
    }

    /// Records that engine `name` holds the image of `address` (from the state, or because a
    /// step there made it); an engine not in the pool is ignored.
    pub fn holds(&mut self, name: &str, address: &Address) {
        if let Some(engine) = self.index(name) {
            self.slots[engine].holds.insert(address.clone());
        }
    }

    /// How many more steps may start now, over every engine that is up.
    pub fn free(&self) -> usize {
        self.slots.iter().map(Slot::free).sum()
    }

    /// Whether any engine is up.
    pub fn any_up(&self) -> bool {
        self.slots.iter().any(|s| s.up)
    }

    /// The engine a step that `needs` what it says runs on, now counted as running there;
    /// `None` when no engine has a free slot.
    pub fn place(&mut self, needs: &Needs<'_>) -> Option<usize> {
        let tier = |slot: &Slot| {
            if needs.built_on == Some(slot.name.as_str()) {
                0
            } else if needs.base.is_some_and(|base| slot.holds.contains(base)) {
                1
            } else {
                2
            }
        };
        let (engine, _) = (self.slots.iter().enumerate())
            .filter(|(_, slot)| slot.free() > 0)
            // Least loaded: the smallest share of its slots in use, compared exactly.
            .min_by(|(_, a), (_, b)| {
                tier(a).cmp(&tier(b)).then(
                    (a.running * b.parallelism.max(1)).cmp(&(b.running * a.parallelism.max(1))),
                )
            })?;
        self.slots[engine].running += 1;
        Some(engine)
    }

    /// A step placed on `engine` ended; when it made or pulled images, the engine holds them.
    pub fn finished(&mut self, engine: usize, made: &[&Address]) {
        let slot = &mut self.slots[engine];
        slot.running = slot.running.saturating_sub(1);
        if slot.up {
            slot.holds.extend(made.iter().map(|a| (*a).clone()));
        }
    }

    /// Marks `engine` down: it gets nothing more. Says whether it was up.
    pub fn down(&mut self, engine: usize) -> bool {
        let slot = &mut self.slots[engine];
        let was = slot.up;
        slot.up = false;
        slot.holds.clear();
        was
    }

    pub fn is_up(&self, engine: usize) -> bool {
        self.slots[engine].up
    }

    /// A step of `address` placed on `engine`, which went away: whether it may be tried
    /// again (placed anew), or why not. Call [`Pool::finished`] for it first.
    pub fn retry(&mut self, address: &Address) -> Result<(), Stranded> {
        if !self.any_up() {
            return Err(Stranded::NoEngineLeft);
        }
        let moves = self.moves.entry(address.clone()).or_default();
        if *moves >= MAX_MOVES {
            return Err(Stranded::TooManyMoves);
        }
        *moves += 1;
        Ok(())
    }

    /// A step moved off `from` (down) was placed on `to`: counted for the apply's last lines.
    pub fn moved(&mut self, from: usize, to: usize) {
        *self.moved.entry(from).or_default().entry(to).or_default() += 1;
    }

    /// Per engine that went away, how many steps were moved to each other one, by name.
    pub fn moves(&self) -> Vec<(String, Vec<(String, usize)>)> {
        (self.moved.iter())
            .map(|(from, to)| {
                let to = (to.iter())
                    .map(|(engine, n)| (self.name(*engine).to_string(), *n))
                    .collect();
                (self.name(*from).to_string(), to)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    fn base(name: &str) -> Address {
        Address::new(Kind::BaseImage, name)
    }

    fn pool(engines: &[(&str, usize)]) -> Pool {
        Pool::new(engines.iter().copied())
    }

    fn on(pool: &mut Pool, needs: Needs<'_>) -> Option<String> {
        pool.place(&needs).map(|e| pool.name(e).to_string())
    }

    #[test]
    fn work_spreads_to_the_least_loaded_within_each_engines_parallelism() {
        let mut pool = pool(&[("a", 2), ("b", 1), ("c", 1)]);
        assert_eq!(pool.free(), 4);
        let placed: Vec<_> = (0..5).map(|_| on(&mut pool, Needs::default())).collect();
        assert_eq!(
            placed,
            [
                Some("a".into()),
                Some("b".into()),
                Some("c".into()),
                Some("a".into()),
                None
            ]
        );
        assert_eq!(pool.free(), 0);
        pool.finished(1, &[]);
        assert_eq!(on(&mut pool, Needs::default()).as_deref(), Some("b"));
    }

    #[test]
    fn a_step_goes_where_its_previous_build_then_its_base_is() {
        let mut pool = pool(&[("a", 2), ("b", 2), ("c", 2)]);
        let (one, two) = (base("one"), base("two"));
        pool.holds("c", &one);
        pool.holds("nowhere", &two);
        let needs = |built_on, base| Needs { built_on, base };
        assert_eq!(on(&mut pool, needs(None, Some(&one))).as_deref(), Some("c"));
        assert_eq!(
            on(&mut pool, needs(Some("b"), Some(&one))).as_deref(),
            Some("b"),
            "its own layers first"
        );
        assert_eq!(
            on(&mut pool, needs(None, Some(&one))).as_deref(),
            Some("c"),
            "still free there"
        );
        // c is full: the base's holder gives way to the least loaded.
        assert_eq!(on(&mut pool, needs(None, Some(&one))).as_deref(), Some("a"));
        // A pull makes its engine hold the base.
        let b = pool.index("b").unwrap();
        pool.finished(b, &[&two]);
        assert_eq!(on(&mut pool, needs(None, Some(&two))).as_deref(), Some("b"));
    }

    #[test]
    fn an_engine_down_gets_nothing_and_its_steps_move_a_bounded_number_of_times() {
        let mut pool = pool(&[("a", 1), ("b", 1)]);
        let image = Address::new(Kind::Image, "i");
        let b = pool.index("b").unwrap();
        pool.holds("b", &base("one"));
        assert!(pool.down(b));
        assert!(!pool.down(b), "already down");
        assert_eq!(pool.free(), 1);
        let needs = Needs {
            built_on: Some("b"),
            base: Some(&base("one")),
        };
        let a = pool.place(&needs).unwrap();
        assert_eq!(pool.name(a), "a");
        pool.finished(a, &[]);
        for _ in 0..MAX_MOVES {
            assert_eq!(pool.retry(&image), Ok(()));
            pool.moved(b, a);
        }
        assert_eq!(pool.retry(&image), Err(Stranded::TooManyMoves));
        assert_eq!(pool.moves(), [("b".into(), vec![("a".into(), MAX_MOVES)])]);
        pool.down(a);
        assert_eq!(
            pool.retry(&Address::new(Kind::Image, "j")),
            Err(Stranded::NoEngineLeft)
        );
        assert_eq!(pool.place(&Needs::default()), None);
    }
}
