use super::*;

fn count_between(a: &[Arrival], from: f64, to: f64) -> usize {
    a.iter().filter(|x| x.at >= from && x.at < to).count()
}

#[test]
fn every_profile_is_named_and_documented() {
    for name in NAMES {
        let p = Profile::named(name).unwrap();
        assert_eq!(p.name, name);
        assert!(!p.about.is_empty() && !p.describe().is_empty());
    }
    assert!(Profile::named("nope").is_none());
}

#[test]
fn schedules_follow_their_rates() {
    let steady = Profile::named("steady").unwrap().arrivals();
    assert_eq!(steady.len(), 6000);
    assert_eq!(count_between(&steady, 10.0, 11.0), 100);

    let burst = Profile::named("burst").unwrap().arrivals();
    assert_eq!(count_between(&burst, 5.0, 6.0), 50);
    assert_eq!(count_between(&burst, 22.0, 23.0), 400);
    assert_eq!(count_between(&burst, 40.0, 41.0), 50);
    assert_eq!(count_between(&burst, 55.0, 56.0), 400);
    assert!(burst.windows(2).all(|w| w[0].at <= w[1].at));

    let ramp = Profile::named("ramp").unwrap().arrivals();
    assert_eq!(ramp.iter().filter(|a| a.at == 0.0).count(), 1001);
    assert_eq!(count_between(&ramp, 10.0, 11.0), 100);

    let flood = Profile::named("flood").unwrap().arrivals();
    let floods = flood.iter().filter(|a| a.stream == Stream::Flood).count();
    assert_eq!(floods, 3000);
    assert_eq!(flood.len() - floods, 1500);
    assert!(flood.iter().any(|a| a.stream == Stream::Quiet(49)));
}

#[test]
fn duration_and_scale_overrides_keep_the_shape() {
    let p = Profile::named("burst")
        .unwrap()
        .with_duration(Duration::from_secs(40));
    let a = p.arrivals();
    assert_eq!(
        count_between(&a, 11.0, 12.0),
        400,
        "bursts move with the duration"
    );
    let p = Profile::named("steady").unwrap().scaled(0.5);
    assert_eq!(p.arrivals().len(), 3000);
    assert_eq!(p.peak_rate(), 50.0);
}
