// golden.js regenerates golden.json from OpenAI's tiktoken (the WASM build of
// the Rust original), so tests can compare this package with the reference
// without a network or Python:
//
//   npm install tiktoken@1.0.22 && node golden.js > golden.json
//
// Inputs are fixed cases plus strings drawn with a seeded generator from
// fragments that exercise every alternative of the split patterns.
const { get_encoding } = require("tiktoken");

const fixed = [
  "", "hello world", "a\n \nb", "foo  \n  \nbar", " \n \n \n", "x.\n \n y",
  "It's 12345 o'clock!!\n\n\tDone.", "日本語のテキスト。次の文！", "👍🏽 family: 👨‍👩‍👧 flags 🇫🇷🇩🇪",
  "e\u0301te\u0301\n \nnext", "HELLOworld McDonald's IPhone", "<|endoftext|> is text here",
  "  leading and trailing  ", "\r\n\r\n \r\n", "tabs\t\t\n\t\n\tend", "a/\n/b\n \n/c",
  "naïve café résumé", "ÅNGSTRÖM Ⅻ ½ ²", "\u00a0nbsp\u00a0\n\u3000\n ideographic",
];

const frags = [
  "a", "word", " the", "The", "HELLO", "camelCase", "I'm", "they'll", "'S", "'ve",
  "0", "12", "123", "45678", " ", "  ", "\t", "\n", "\n\n", "\r\n", " \n", "\n ",
  " \n \n", "\t\n\t\n", ".", "!", "?", "...", "/", "//", ",", ";", "-", "--", "()", "{}",
  "\"", "'", "#", "@", "$", "%", "é", "e\u0301", "\u0301", "ß", "Ж", "жизнь", "日本", "語",
  "。", "！", "😀", "\u0301\n \n", "!\u0301", "a\u0301\n\n \n", "..\n\t\n", "'s\n \n", "\x7f", "!\x7f", "\x7fa", "\n//\u0301", "\n/", "👍🏽", "‍", "🇫🇷", "\u00a0", "\u3000", "\u2028", "<|endoftext|>", "x",
];

let seed = 20240601;
function rand(n) {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed % n;
}

const inputs = fixed.slice();
for (let i = 0; i < 500; i++) {
  let s = "";
  const k = 1 + rand(24);
  for (let j = 0; j < k; j++) s += frags[rand(frags.length)];
  inputs.push(s);
}

const encs = ["cl100k_base", "o200k_base", "p50k_base", "r50k_base"];
const codecs = encs.map((e) => get_encoding(e));
const cases = inputs.map((text) => {
  const c = { text };
  encs.forEach((e, i) => (c[e] = Array.from(codecs[i].encode_ordinary(text))));
  return c;
});
process.stdout.write(JSON.stringify(cases, null, 0).replace(/\},\{/g, "},\n{") + "\n");
