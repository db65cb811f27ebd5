/**
 * @module scripts/concept-definitions — the word classes of data/lexicon/concepts.json: for each, its aliases (how an
 * explanation names it) and which Brown tags belong to it. The weights themselves are counted from the corpus by
 * scripts/build-demo-dataset.ts: weights[word] = P(tag in the class | lower-cased word).
 */
import type { BrownTag } from './brown-corpus.ts';

export interface ConceptDefinition {
  name: string;
  /** Lower-case phrases naming the concept in an explanation. */
  aliases: string[];
  /** Whether a token with this tag belongs to the class (foreign words belong to none). Absent: pattern only. */
  matches?: (tag: BrownTag) => boolean;
  /** JS regular expression tested on the trimmed token (case kept); matches count as weight 1. */
  pattern?: string;
}

const anyPart =
  (...tags: string[]) =>
  (tag: BrownTag): boolean =>
    !tag.foreign && tag.parts.some((part) => tags.includes(part));

export const conceptDefinitions: ConceptDefinition[] = [
  {
    name: 'determiners',
    aliases: [
      'determiner',
      'determiners',
      'article',
      'articles',
      'definite article',
      'indefinite article',
      'definite and indefinite articles',
    ],
    matches: anyPart('at', 'dt', 'dti', 'dts', 'dtx', 'abn', 'abx'),
  },
  {
    name: 'past-tense verbs',
    aliases: [
      'past tense verb',
      'past tense verbs',
      'past-tense verb',
      'past-tense verbs',
      'verbs in the past tense',
      'verb in the past tense',
      'past tense',
      'simple past',
      'preterite',
      'preterites',
    ],
    matches: anyPart('vbd', 'bedz', 'bed', 'hvd', 'dod'),
  },
  {
    name: 'verbs',
    aliases: ['verb', 'verbs', 'verb forms'],
    matches: anyPart(
      'vb',
      'vbd',
      'vbn',
      'vbg',
      'vbz',
      'be',
      'bed',
      'bedz',
      'beg',
      'bem',
      'ben',
      'ber',
      'bez',
      'hv',
      'hvd',
      'hvg',
      'hvn',
      'hvz',
      'do',
      'dod',
      'doz',
      'md',
    ),
  },
  {
    name: '-ing verb forms',
    aliases: [
      '-ing verb forms',
      '-ing forms',
      'ing forms',
      'gerund',
      'gerunds',
      'present participle',
      'present participles',
      'verbs ending in -ing',
      'progressive verbs',
    ],
    matches: anyPart('vbg', 'beg', 'hvg'),
  },
  {
    name: 'past participles',
    aliases: ['past participle', 'past participles'],
    matches: anyPart('vbn', 'ben', 'hvn'),
  },
  {
    name: 'modal verbs',
    aliases: ['modal', 'modals', 'modal verb', 'modal verbs', 'modal auxiliaries', 'modal auxiliary verbs'],
    matches: anyPart('md'),
  },
  {
    name: 'nouns',
    aliases: ['noun', 'nouns', 'common nouns'],
    matches: anyPart('nn', 'nns', 'np', 'nps', 'nr', 'nrs'),
  },
  {
    name: 'plural nouns',
    aliases: ['plural noun', 'plural nouns', 'nouns in the plural', 'plurals'],
    matches: anyPart('nns', 'nps', 'nrs'),
  },
  {
    name: 'proper nouns',
    aliases: ['proper noun', 'proper nouns', 'name', 'names', 'proper names', 'names of people and places'],
    matches: anyPart('np', 'nps'),
  },
  {
    name: 'adjectives',
    aliases: ['adjective', 'adjectives'],
    matches: anyPart('jj', 'jjr', 'jjs', 'jjt'),
  },
  {
    name: 'adverbs',
    aliases: ['adverb', 'adverbs', 'intensifiers', 'qualifiers'],
    matches: anyPart('rb', 'rbr', 'rbt', 'rn', 'ql', 'qlp'),
  },
  {
    name: 'prepositions',
    aliases: ['preposition', 'prepositions', 'prepositional words'],
    matches: anyPart('in'),
  },
  {
    name: 'pronouns',
    aliases: ['pronoun', 'pronouns', 'personal pronouns', 'possessive pronouns'],
    matches: anyPart('pp', 'ppl', 'ppls', 'ppo', 'pps', 'ppss', 'pn'),
  },
  {
    name: 'conjunctions',
    aliases: ['conjunction', 'conjunctions', 'coordinating conjunctions', 'subordinating conjunctions', 'connectives'],
    matches: anyPart('cc', 'cs'),
  },
  {
    name: 'numbers',
    aliases: ['number', 'numbers', 'numeral', 'numerals', 'digit', 'digits', 'cardinal numbers', 'quantities'],
    matches: anyPart('cd'),
    pattern: '^[0-9][0-9,.]*$',
  },
  {
    name: 'punctuation',
    aliases: ['punctuation', 'punctuation marks', 'punctuation tokens'],
    matches: anyPart('.', ',', ':', '(', ')', '--', "''", '``', "'"),
  },
  {
    name: 'sentence-final punctuation',
    aliases: [
      'sentence-final punctuation',
      'end-of-sentence punctuation',
      'sentence endings',
      'end of sentence',
      'ends of sentences',
      'full stops',
      'periods',
      'sentence-ending punctuation',
    ],
    matches: anyPart('.'),
  },
  {
    name: 'opening quotation marks',
    aliases: [
      'opening quotation mark',
      'opening quotation marks',
      'opening quotes',
      'open quotes',
      'opening quote',
      'start of a quotation',
      'starts of quotations',
      'beginning of quoted speech',
    ],
    matches: anyPart('``'),
  },
  {
    name: 'closing quotation marks',
    aliases: [
      'closing quotation mark',
      'closing quotation marks',
      'closing quotes',
      'close quotes',
      'end quotes',
      'end of a quotation',
      'ends of quotations',
      'end of quoted speech',
    ],
    matches: anyPart("''"),
  },
  {
    name: 'negations',
    aliases: ['negation', 'negations', 'negative words', 'negative particles', 'negated verbs', 'negative forms'],
    matches: (tag) => !tag.foreign && tag.negated,
  },
  {
    name: 'words in titles',
    aliases: ['words in titles', 'title words', 'words in a title', 'titles', 'words of titles'],
    matches: (tag) => !tag.foreign && tag.title,
  },
  {
    name: 'capitalized words',
    aliases: [
      'capitalized words',
      'capitalised words',
      'capitalized word',
      'words starting with a capital letter',
      'words beginning with a capital letter',
      'capital letters',
    ],
    pattern: '^[A-Z]',
  },
  {
    name: 'lowercase words',
    aliases: [
      'lowercase words',
      'lower-case words',
      'lowercase word',
      'words starting with a lowercase letter',
      'uncapitalized words',
    ],
    pattern: '^[a-z]',
  },
];
