//! Which engine of the pool runs a step, as a pure state machine beside [`super::schedule`]
//! (which decides *when* a step may run). Each free slot takes a ready step that wants its
//! engine: one whose previous build is there (its layers are the build's cache), else one
//! whose base is there, else any, ties to the step first in plan order and the least loaded
//! engine; a step every engine suits alike has no claim over others. A build that would pull its
//! base onto an engine while another engine, busy now, holds it waits for that one, unless
//! the engine would otherwise run nothing at all: no engine idles while a step could run. An
//! engine marked down gets nothing, and a step it was running is moved to another a bounded
//! number of times.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use crate::model::Address;

/// How many times a step may be moved off an engine that went away before it fails.
pub const MAX_MOVES: usize = 2;

/// What a step would like an engine to hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
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

/// How well a slot suits a step, best first: it holds the step's previous build, its base,
/// or neither (the base would be pulled there).
type Tier = u8;
const PULL: Tier = 2;

impl Slot {
    fn tier(&self, needs: &Needs<'_>) -> Tier {
        if needs.built_on == Some(self.name.as_str()) {
            0
        } else if needs.base.is_some_and(|base| self.holds.contains(base)) {
            1
        } else {
            PULL
        }
    }

    fn free(&self) -> usize {
        if self.up {
            self.parallelism.max(1).saturating_sub(self.running)
        } else {
            0
        }
    }
}

/// A step on an engine, as [`Pool::assign`] weighs it.
struct Choice {
    /// How well the engine suits it, against the others: [`PULL`] when all suit it alike.
    tier: Tier,
    /// A busy engine holds what it builds on: it goes after the steps that could not wait.
    awaited: bool,
    /// Its place in plan order, and the engine.
    step: usize,
    engine: usize,
    /// The engine's load: `running` of `parallelism` slots in use.
    running: usize,
    parallelism: usize,
}

impl Choice {
    /// Whether this goes before `other`: the better tier, then what cannot wait, then plan
    /// order, then the least loaded engine (the smaller share of its slots, compared exactly),
    /// then the engines' order.
    fn before(&self, other: &Choice) -> bool {
        let load = (self.running * other.parallelism).cmp(&(other.running * self.parallelism));
        (self.tier, self.awaited, self.step)
            .cmp(&(other.tier, other.awaited, other.step))
            .then(load)
            .then(self.engine.cmp(&other.engine))
            .is_lt()
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

    /// Whether any engine is up.
    pub fn any_up(&self) -> bool {
        self.slots.iter().any(|s| s.up)
    }

    /// Which of the `ready` steps (in plan order) start now, and where: pairs of an index
    /// into `ready` and an engine, each now counted as running there. Free slots go first to
    /// the steps that want their engine most; a build that would pull its base onto an
    /// engine that runs something already is held while a busy engine holds that base (it
    /// starts there once a slot frees, or wherever an engine has nothing to run).
    pub fn assign(&mut self, ready: &[Needs<'_>]) -> Vec<(usize, usize)> {
        // Steps that need the same are alike but for their place in plan order: only the
        // first of each kind left is weighed, so a choice costs kinds, not steps.
        let mut kinds: Vec<(&Needs<'_>, VecDeque<usize>)> = Vec::new();
        let mut kind_of: HashMap<&Needs<'_>, usize> = HashMap::new();
        for (step, needs) in ready.iter().enumerate() {
            let kind = *kind_of.entry(needs).or_insert_with(|| {
                kinds.push((needs, VecDeque::new()));
                kinds.len() - 1
            });
            kinds[kind].1.push_back(step);
        }
        let mut placed = Vec::new();
        loop {
            let mut best: Option<(Choice, usize)> = None;
            for (kind, (needs, steps)) in kinds.iter().enumerate() {
                let Some(&step) = steps.front() else {
                    continue;
                };
                let up = || self.slots.iter().filter(|s| s.up);
                // Whether an engine with no slot free now holds what it builds on.
                let awaited =
                    needs.base.is_some() && up().any(|s| s.free() == 0 && s.tier(needs) < PULL);
                // A step that every engine suits alike (any step, on one engine) has no claim
                // on a slot over others: it goes in plan order.
                let alike = up().map(|s| s.tier(needs)).min() == up().map(|s| s.tier(needs)).max();
                for (engine, slot) in self.slots.iter().enumerate() {
                    if slot.free() == 0 {
                        continue;
                    }
                    let tier = slot.tier(needs);
                    if tier == PULL && awaited && slot.running > 0 {
                        continue;
                    }
                    let choice = Choice {
                        tier: if alike { PULL } else { tier },
                        awaited,
                        step,
                        engine,
                        running: slot.running,
                        parallelism: slot.parallelism.max(1),
                    };
                    if best.as_ref().is_none_or(|(b, _)| choice.before(b)) {
                        best = Some((choice, kind));
                    }
                }
            }
            let Some((Choice { step, engine, .. }, kind)) = best else {
                return placed;
            };
            kinds[kind].1.pop_front();
            self.slots[engine].running += 1;
            placed.push((step, engine));
        }
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

    /// A build of an image built before on `built_on`, on `base`.
    fn build<'a>(built_on: Option<&'a str>, base: &'a Address) -> Needs<'a> {
        Needs {
            built_on,
            base: Some(base),
        }
    }

    /// What `assign` starts of `ready`: the step's index and the engine's name, in the order
    /// chosen.
    fn assigned(pool: &mut Pool, ready: &[Needs<'_>]) -> Vec<(usize, String)> {
        (pool.assign(ready).into_iter())
            .map(|(step, engine)| (step, pool.name(engine).to_string()))
            .collect()
    }

    fn on(placed: &[(usize, &str)]) -> Vec<(usize, String)> {
        (placed.iter())
            .map(|(step, engine)| (*step, engine.to_string()))
            .collect()
    }

    #[test]
    fn work_spreads_to_the_least_loaded_within_each_engines_parallelism() {
        let mut pool = pool(&[("a", 2), ("b", 1), ("c", 1)]);
        let placed = assigned(&mut pool, &vec![Needs::default(); 5]);
        assert_eq!(placed, on(&[(0, "a"), (1, "b"), (2, "c"), (3, "a")]));
        assert!(
            pool.assign(&[Needs::default()]).is_empty(),
            "every slot taken"
        );
        pool.finished(pool.index("b").unwrap(), &[]);
        assert_eq!(assigned(&mut pool, &[Needs::default()]), on(&[(0, "b")]));
        // A parallelism of zero is one slot, not none.
        let mut zero = Pool::new([("z", 0)]);
        assert_eq!(zero.assign(&vec![Needs::default(); 2]), [(0, 0)]);
    }

    #[test]
    fn steps_every_engine_suits_alike_go_in_plan_order() {
        // On one engine: the pull first in line before the build on a base it holds.
        let one = base("one");
        let mut single = pool(&[("a", 1)]);
        single.holds("a", &one);
        let ready = [Needs::default(), build(None, &one)];
        assert_eq!(assigned(&mut single, &ready), on(&[(0, "a")]));
        // Over two, the build has a claim on the engine that holds its base; the pull, on none.
        let mut two = pool(&[("a", 1), ("b", 1)]);
        two.holds("a", &one);
        assert_eq!(assigned(&mut two, &ready), on(&[(1, "a"), (0, "b")]));
    }

    #[test]
    fn a_step_goes_where_its_previous_build_then_its_base_is() {
        let mut pool = pool(&[("a", 2), ("b", 2), ("c", 2)]);
        let (one, two) = (base("one"), base("two"));
        pool.holds("c", &one);
        pool.holds("nowhere", &two);
        let ready = [
            build(None, &one),
            build(Some("b"), &one),
            build(None, &one),
            build(None, &one),
        ];
        // Its own layers first, then its base; the fourth would wait for c, which holds its
        // base, but a runs nothing: it goes there rather than leave a idle.
        assert_eq!(
            assigned(&mut pool, &ready),
            on(&[(1, "b"), (0, "c"), (2, "c"), (3, "a")])
        );
        // A pull makes its engine hold the base.
        let b = pool.index("b").unwrap();
        pool.finished(b, &[&two]);
        assert_eq!(assigned(&mut pool, &[build(None, &two)]), on(&[(0, "b")]));
    }

    #[test]
    fn each_free_slot_takes_a_step_that_wants_its_engine_not_the_first_in_line() {
        let mut pool = pool(&[("x", 2), ("y", 2)]);
        let (one, two) = (base("one"), base("two"));
        pool.holds("x", &one);
        pool.holds("y", &two);
        let ready = [
            build(None, &one),
            build(None, &one),
            build(None, &one),
            build(None, &one),
            build(None, &two),
            build(None, &two),
        ];
        // In plan order, the third and fourth would have pulled base one onto y.
        assert_eq!(
            assigned(&mut pool, &ready),
            on(&[(0, "x"), (1, "x"), (4, "y"), (5, "y")])
        );
    }

    #[test]
    fn a_build_waits_for_the_busy_engine_that_holds_its_base_while_the_other_runs_something() {
        let mut pool = pool(&[("x", 2), ("y", 2)]);
        let (one, three) = (base("one"), base("three"));
        pool.holds("x", &one);
        // y pulls a base it pulled before.
        let again = Needs {
            built_on: Some("y"),
            base: None,
        };
        assert_eq!(assigned(&mut pool, &[again]), on(&[(0, "y")]));
        let (x, y) = (pool.index("x").unwrap(), pool.index("y").unwrap());
        let ready = [build(None, &one), build(None, &one), build(None, &one)];
        // The third waits for x rather than pull base one onto y, which is busy anyway.
        assert_eq!(assigned(&mut pool, &ready), on(&[(0, "x"), (1, "x")]));
        let waiting = [build(None, &one)];
        assert!(pool.clone().assign(&waiting).is_empty());
        // A pull, and a build on a base no engine holds, wait for nothing.
        let free = [Needs::default(), build(None, &three)];
        assert_eq!(assigned(&mut pool.clone(), &free), on(&[(0, "y")]));
        assert_eq!(assigned(&mut pool.clone(), &free[1..]), on(&[(0, "y")]));
        // Once x frees a slot, the build goes there...
        let mut freed = pool.clone();
        freed.finished(x, &[]);
        assert_eq!(assigned(&mut freed, &waiting), on(&[(0, "x")]));
        // ...and once y runs nothing, there: no engine idles while a step could run.
        pool.finished(y, &[]);
        assert_eq!(assigned(&mut pool, &waiting), on(&[(0, "y")]));
    }

    #[test]
    fn an_engine_down_gets_nothing_and_its_steps_move_a_bounded_number_of_times() {
        let mut pool = pool(&[("a", 1), ("b", 1)]);
        let image = Address::new(Kind::Image, "i");
        let b = pool.index("b").unwrap();
        pool.holds("b", &base("one"));
        assert!(pool.down(b));
        assert!(!pool.down(b), "already down");
        let one = base("one");
        let ready = [build(Some("b"), &one), build(Some("b"), &one)];
        assert_eq!(assigned(&mut pool, &ready), on(&[(0, "a")]));
        let a = pool.index("a").unwrap();
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
        assert!(pool.assign(&[Needs::default()]).is_empty());
    }
}
