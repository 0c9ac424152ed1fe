// Package local implements the "local" provider: an embedded, offline engine that needs no
// account and no network. It is honest about what it is; every model is a classic algorithm
// named for what it does:
//
//   - local/hash-embed: lexical embeddings by feature hashing (signed hashing trick) of word
//     unigrams, word bigrams and character 3–5-grams. They capture shared words and word
//     pieces, not meaning: "car" and "automobile" are unrelated to it.
//   - local/textrank: extractive summarisation. Sentences are ranked by PageRank over a
//     TF-IDF cosine-similarity graph (TextRank/LexRank); the best ones are returned verbatim,
//     in document order. With a Focus question the summary is an extractive answer instead
//     (answer.go): sentences of the paragraphs that cover the question, scored by BM25 and
//     embedding cosine and picked by maximal marginal relevance, or exactly
//     "The documents do not answer this." when no paragraph covers it.
//   - local/vader: rule- and lexicon-based English sentiment (VADER, via
//     github.com/jonreiter/govader) with labels POSITIVE, NEGATIVE and NEUTRAL.
//   - local/zero-shot: picks among caller-given labels by lexical-embedding similarity.
//   - local/apertium: rule-based machine translation by running the Apertium command line,
//     when Apertium and the language pair are installed.
//
// There is no text-generation model: the provider does not implement providers.Generator.
//
// Usage is approximate: InputTokens and OutputTokens count whitespace-separated words, not
// model tokens, and Requests counts calls. Nothing here costs money.
package local
