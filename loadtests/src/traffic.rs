//! Realistic Telegram traffic: who sends what, to which bot, in which chat, with what body.
//!
//! Bots and chats have Zipf popularity (a few bots and chats carry most of the traffic, as in
//! real deployments); 60 % of a bot's chats are private chats (chat id = user id, some above
//! 2^32), the rest supergroups (`-100…` ids). Kinds follow what a bot with privacy mode sees:
//! mostly text messages, commands, callback queries, some media, edits, membership changes and
//! channel posts. Bodies have the Bot API's exact shape: median about 400 B, a long tail to a
//! few KB (texts are log-normal, up to 3 000 characters).

use std::sync::atomic::{AtomicI64, Ordering};

use rand::{Rng, RngCore};
use rand_distr::{Distribution, LogNormal, Zipf};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A bot the run posts to: its name in sluice's registry and its webhook secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BotCred {
    pub name: String,
    pub secret: String,
}

/// Where an update comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chat {
    /// A private chat with a user: the chat id is the user id.
    Private(i64),
    /// A supergroup, and the member who wrote.
    Group { chat: i64, user: i64 },
    /// A channel the bot administers.
    Channel(i64),
}

impl Chat {
    pub fn id(self) -> i64 {
        match self {
            Chat::Private(id) | Chat::Channel(id) | Chat::Group { chat: id, .. } => id,
        }
    }
}

/// The update kinds the generator makes (what the api classifies them as is its business).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// A text message that @-mentions the bot (the only group text a privacy-mode bot sees).
    Mention,
    Command,
    /// A reply to one of the bot's own messages.
    Reply,
    Callback,
    Photo,
    Sticker,
    Edited,
    MemberChange,
    ChannelPost,
}

/// One generated update, ready to post.
#[derive(Debug, Clone)]
pub struct Update {
    pub bot: usize,
    pub update_id: i64,
    pub chat: Chat,
    pub kind: Kind,
    pub body: String,
}

/// The bots, their chats and users, and the popularity of each.
pub struct Population {
    pub bots: Vec<BotCred>,
    next_update_id: Vec<AtomicI64>,
    bot_zipf: Zipf<f64>,
    chats_per_bot: u64,
    chat_zipf: Zipf<f64>,
    text_len: LogNormal<f64>,
    /// Mixed into every derived id so two runs' chats differ.
    salt: u64,
}

impl Population {
    /// `chats_per_bot` chats per bot; update ids of each bot start at a random point (as
    /// Telegram's do) so runs against one database never collide.
    pub fn new(bots: Vec<BotCred>, chats_per_bot: u64, rng: &mut impl RngCore) -> Population {
        assert!(!bots.is_empty(), "a population needs at least one bot");
        let next_update_id = bots
            .iter()
            .map(|_| AtomicI64::new(rng.random_range(100_000_000..900_000_000)))
            .collect();
        Population {
            bot_zipf: Zipf::new(bots.len() as f64, 1.0).expect("n >= 1"),
            chat_zipf: Zipf::new(chats_per_bot.max(1) as f64, 1.0).expect("n >= 1"),
            bots,
            next_update_id,
            chats_per_bot: chats_per_bot.max(1),
            // Median 33 characters, long tail: most messages are short, a few are essays.
            text_len: LogNormal::new(3.5, 1.0).expect("valid"),
            salt: rng.next_u64(),
        }
    }

    pub fn pick_bot(&self, rng: &mut impl Rng) -> usize {
        self.bot_zipf.sample(rng) as usize - 1
    }

    /// The `rank`-th most popular chat of `bot` (0-based): private or group is fixed per chat.
    pub fn chat(&self, bot: usize, rank: u64, rng: &mut impl Rng) -> Chat {
        let h = mix(self.salt ^ ((bot as u64) << 40) ^ rank);
        if h % 10 < 6 {
            Chat::Private(user_id(h))
        } else if h % 50 == 7 {
            Chat::Channel(-1_000_000_000_000 - (h >> 24) as i64 % 999_999_999)
        } else {
            let members = 5 + (h >> 8) % 5000;
            let member = rng.random_range(0..members);
            Chat::Group {
                chat: -1_000_000_000_000 - (h >> 24) as i64 % 999_999_999,
                user: user_id(mix(h ^ member)),
            }
        }
    }

    pub fn pick_chat(&self, bot: usize, rng: &mut impl Rng) -> Chat {
        let rank = self.chat_zipf.sample(rng) as u64 - 1;
        self.chat(bot, rank % self.chats_per_bot, rng)
    }

    /// A kind in the proportions a bot sees in this kind of chat.
    pub fn pick_kind(chat: Chat, rng: &mut impl Rng) -> Kind {
        let r = rng.random_range(0..100);
        match chat {
            Chat::Channel(_) => Kind::ChannelPost,
            Chat::Private(_) => match r {
                0..60 => Kind::Text,
                60..75 => Kind::Command,
                75..87 => Kind::Callback,
                87..92 => Kind::Photo,
                92..96 => Kind::Sticker,
                96..99 => Kind::Edited,
                _ => Kind::MemberChange,
            },
            Chat::Group { .. } => match r {
                0..35 => Kind::Mention,
                35..50 => Kind::Command,
                50..65 => Kind::Reply,
                65..80 => Kind::Callback,
                80..88 => Kind::Photo,
                88..93 => Kind::Sticker,
                93..98 => Kind::Edited,
                _ => Kind::MemberChange,
            },
        }
    }

    /// A random update: bot and chat by popularity, kind by the chat's mix.
    pub fn random(&self, rng: &mut impl Rng) -> Update {
        let bot = self.pick_bot(rng);
        let chat = self.pick_chat(bot, rng);
        let kind = Self::pick_kind(chat, rng);
        self.make(bot, chat, kind, rng)
    }

    /// An update of `kind` in `chat` to `bot`, with the bot's next update_id.
    pub fn make(&self, bot: usize, chat: Chat, kind: Kind, rng: &mut impl Rng) -> Update {
        let update_id = self.next_update_id[bot].fetch_add(1, Ordering::Relaxed);
        let body = self.body(bot, update_id, chat, kind, rng).to_string();
        Update {
            bot,
            update_id,
            chat,
            kind,
            body,
        }
    }

    fn body(
        &self,
        bot: usize,
        update_id: i64,
        chat: Chat,
        kind: Kind,
        rng: &mut impl Rng,
    ) -> Value {
        let date = now_secs();
        let message_id = rng.random_range(1..2_000_000);
        let bot_user = self.bot_user(bot);
        let (chat_json, from) = match chat {
            Chat::Private(id) => {
                let user = person(id);
                let mut chat = user.clone();
                let obj = chat.as_object_mut().expect("object");
                obj.remove("is_bot");
                obj.remove("language_code");
                obj.insert("type".into(), json!("private"));
                (chat, user)
            }
            Chat::Group { chat, user } => (
                json!({"id": chat, "title": format!("Group {}", chat.unsigned_abs() % 100_000), "type": "supergroup", "is_forum": chat % 7 == 0}),
                person(user),
            ),
            Chat::Channel(id) => (
                json!({"id": id, "title": format!("Channel {}", id.unsigned_abs() % 100_000), "type": "channel"}),
                json!(null),
            ),
        };
        let text = self.text(rng);
        let mut message = json!({
            "message_id": message_id,
            "from": from,
            "chat": chat_json,
            "date": date,
        });
        let m = message.as_object_mut().expect("object");
        let field = match kind {
            Kind::Text => {
                m.insert("text".into(), json!(text));
                "message"
            }
            Kind::Mention => {
                let mention = format!("@{}", bot_user["username"].as_str().unwrap_or("bot"));
                let len = utf16_len(&mention);
                m.insert("text".into(), json!(format!("{mention} {text}")));
                m.insert(
                    "entities".into(),
                    json!([{"offset": 0, "length": len, "type": "mention"}]),
                );
                "message"
            }
            Kind::Command => {
                const COMMANDS: [&str; 6] = [
                    "/start",
                    "/help",
                    "/settings",
                    "/stats",
                    "/subscribe",
                    "/cancel",
                ];
                let cmd = COMMANDS[rng.random_range(0..COMMANDS.len())];
                let cmd = match chat {
                    Chat::Group { .. } => {
                        format!("{cmd}@{}", bot_user["username"].as_str().unwrap_or("bot"))
                    }
                    _ => cmd.to_owned(),
                };
                let len = utf16_len(&cmd);
                let arg: String = text.split(' ').take(2).collect::<Vec<_>>().join("_");
                m.insert("text".into(), json!(format!("{cmd} {arg}")));
                m.insert(
                    "entities".into(),
                    json!([{"offset": 0, "length": len, "type": "bot_command"}]),
                );
                "message"
            }
            Kind::Reply => {
                m.insert("text".into(), json!(text));
                m.insert(
                    "reply_to_message".into(),
                    json!({
                        "message_id": message_id - 1,
                        "from": bot_user,
                        "chat": m["chat"].clone(),
                        "date": date - rng.random_range(1..3600),
                        "text": self.text(rng),
                    }),
                );
                "message"
            }
            Kind::Photo => {
                let sizes: Vec<Value> = [(90, 67), (320, 240), (800, 600), (1280, 960)]
                    .iter()
                    .map(|(w, h)| {
                        json!({
                            "file_id": file_id(rng, 83),
                            "file_unique_id": file_id(rng, 16),
                            "file_size": w * h / 6,
                            "width": w,
                            "height": h,
                        })
                    })
                    .collect();
                m.insert("photo".into(), json!(sizes));
                if rng.random_bool(0.4) {
                    m.insert("caption".into(), json!(text));
                }
                "message"
            }
            Kind::Sticker => {
                m.insert(
                    "sticker".into(),
                    json!({
                        "file_id": file_id(rng, 71),
                        "file_unique_id": file_id(rng, 16),
                        "type": "regular",
                        "width": 512, "height": 512,
                        "is_animated": false, "is_video": true,
                        "emoji": "\u{1F44D}",
                        "set_name": "HotCherry",
                        "thumbnail": {"file_id": file_id(rng, 71), "file_unique_id": file_id(rng, 16), "file_size": 5416, "width": 128, "height": 128},
                        "file_size": 31_337,
                    }),
                );
                "message"
            }
            Kind::Edited => {
                m.insert("text".into(), json!(text));
                m.insert("edit_date".into(), json!(date));
                m.insert("date".into(), json!(date - rng.random_range(5..600)));
                "edited_message"
            }
            Kind::ChannelPost => {
                m.remove("from");
                m.insert("sender_chat".into(), m["chat"].clone());
                m.insert("text".into(), json!(text));
                "channel_post"
            }
            Kind::Callback => {
                let from = m["from"].clone();
                let chat_instance = (mix(message_id as u64) as i64).to_string();
                return json!({
                    "update_id": update_id,
                    "callback_query": {
                        "id": (mix(update_id as u64) >> 1).to_string(),
                        "from": from,
                        "message": {
                            "message_id": message_id,
                            "from": bot_user,
                            "chat": m["chat"].clone(),
                            "date": date - rng.random_range(1..86_400),
                            "text": text,
                            "reply_markup": {"inline_keyboard": [[
                                {"text": "Yes", "callback_data": "vote:yes"},
                                {"text": "No", "callback_data": "vote:no"}
                            ]]},
                        },
                        "chat_instance": chat_instance,
                        "data": if rng.random_bool(0.5) { "vote:yes" } else { "vote:no" },
                    }
                });
            }
            Kind::MemberChange => {
                let from = m["from"].clone();
                let (old, new) = if rng.random_bool(0.5) {
                    ("member", "kicked")
                } else {
                    ("left", "member")
                };
                return json!({
                    "update_id": update_id,
                    "my_chat_member": {
                        "chat": m["chat"].clone(),
                        "from": from,
                        "date": date,
                        "old_chat_member": {"user": bot_user, "status": old},
                        "new_chat_member": {"user": bot_user, "status": new, "until_date": 0},
                    }
                });
            }
        };
        json!({ "update_id": update_id, field: message })
    }

    fn bot_user(&self, bot: usize) -> Value {
        let name = &self.bots[bot].name;
        json!({
            "id": 5_000_000_000i64 + (mix(name.len() as u64 ^ bot as u64) % 1_000_000_000) as i64,
            "is_bot": true,
            "first_name": name,
            "username": format!("{}_bot", name.replace('-', "_")),
        })
    }

    fn text(&self, rng: &mut impl Rng) -> String {
        const WORDS: [&str; 24] = [
            "hello",
            "the",
            "order",
            "when",
            "will",
            "my",
            "package",
            "arrive",
            "thanks",
            "please",
            "help",
            "price",
            "привет",
            "спасибо",
            "ok",
            "today",
            "tomorrow",
            "is",
            "it",
            "possible",
            "🙂",
            "to",
            "change",
            "address",
        ];
        let target = (self.text_len.sample(rng) as usize).clamp(1, 3000);
        let mut text = String::with_capacity(target + 16);
        while text.len() < target {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(WORDS[rng.random_range(0..WORDS.len())]);
        }
        text
    }
}

fn person(id: i64) -> Value {
    const FIRST: [&str; 8] = [
        "Anna", "Ivan", "Maria", "José", "Wei", "Fatima", "Lukas", "Aiko",
    ];
    const LANGUAGES: [&str; 5] = ["en", "ru", "es", "de", "pt-br"];
    let h = mix(id as u64);
    let language = LANGUAGES[(h % 5) as usize];
    let mut user = json!({
        "id": id,
        "is_bot": false,
        "first_name": FIRST[(h % 8) as usize],
        "language_code": language,
    });
    if !h.is_multiple_of(3) {
        user["username"] = json!(format!("user{}", h % 10_000_000));
    }
    user
}

/// User ids spread like Telegram's: most below 2^32, newer accounts above it.
fn user_id(h: u64) -> i64 {
    if h.is_multiple_of(5) {
        5_000_000_000 + (h >> 3) as i64 % 3_000_000_000
    } else {
        10_000_000 + (h >> 3) as i64 % 4_000_000_000
    }
}

fn file_id(rng: &mut impl Rng, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// splitmix64: derives stable ids from ranks without keeping a table of chats.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{SeedableRng, rngs::StdRng};

    fn population(bots: usize) -> Population {
        let creds = (0..bots)
            .map(|i| BotCred {
                name: format!("load-t-{i}"),
                secret: "s".into(),
            })
            .collect();
        Population::new(creds, 2000, &mut StdRng::seed_from_u64(1))
    }

    #[test]
    fn bodies_are_bot_api_updates_of_realistic_size() {
        let pop = population(50);
        let mut rng = StdRng::seed_from_u64(7);
        let mut sizes = Vec::new();
        let mut kinds = std::collections::BTreeMap::new();
        for _ in 0..5000 {
            let u = pop.random(&mut rng);
            let v: Value = serde_json::from_str(&u.body).unwrap();
            assert_eq!(v["update_id"].as_i64(), Some(u.update_id));
            let field = v
                .as_object()
                .unwrap()
                .keys()
                .find(|k| *k != "update_id")
                .unwrap()
                .clone();
            *kinds.entry(field).or_insert(0) += 1;
            sizes.push(u.body.len());
        }
        sizes.sort_unstable();
        let median = sizes[sizes.len() / 2];
        assert!((250..1200).contains(&median), "median body {median} B");
        assert!(
            *sizes.last().unwrap() <= 8 * 1024,
            "largest {} B",
            sizes.last().unwrap()
        );
        assert!(
            sizes[sizes.len() * 99 / 100] > 1000,
            "the tail has large bodies"
        );
        for kind in [
            "message",
            "callback_query",
            "edited_message",
            "my_chat_member",
        ] {
            assert!(kinds.contains_key(kind), "{kind} missing from {kinds:?}");
        }
        assert!(kinds["message"] > kinds["callback_query"]);
    }

    #[test]
    fn popularity_is_skewed_and_update_ids_unique() {
        let pop = population(50);
        let mut rng = StdRng::seed_from_u64(9);
        let mut per_bot = [0u32; 50];
        let mut ids = std::collections::HashSet::new();
        for _ in 0..20_000 {
            let u = pop.random(&mut rng);
            per_bot[u.bot] += 1;
            assert!(ids.insert((u.bot, u.update_id)));
        }
        // Zipf(1.0) over 50: the top bot gets ~22 %, the last ~0.4 %.
        assert!(per_bot[0] > 3000, "top bot {}", per_bot[0]);
        assert!(per_bot[49] < 400, "last bot {}", per_bot[49]);
    }

    #[test]
    fn chats_have_telegram_shaped_ids() {
        let pop = population(3);
        let mut rng = StdRng::seed_from_u64(3);
        let (mut private, mut group, mut big) = (0, 0, 0);
        for rank in 0..2000 {
            match pop.chat(0, rank, &mut rng) {
                Chat::Private(id) => {
                    private += 1;
                    assert!(id > 0);
                    if id > u32::MAX as i64 {
                        big += 1;
                    }
                }
                Chat::Group { chat, user } => {
                    group += 1;
                    assert!(chat < -1_000_000_000_000 && user > 0);
                }
                Chat::Channel(id) => assert!(id < -1_000_000_000_000),
            }
        }
        assert!((1000..1400).contains(&private), "{private} private of 2000");
        assert!(group > 600 && big > 0);
    }
}
