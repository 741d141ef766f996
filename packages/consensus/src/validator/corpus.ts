/**
 * The challenge corpus: natural questions, instructions, expository sentences, system prompts and assistant
 * replies, from which challenge prompts of a wanted length are assembled (seeded, so a record's seed
 * rebuilds its prompt). Not a word list: every piece is a sentence a client could send. Pure; no I/O.
 * It must never hold anything a miner could match exactly to tell a challenge apart: prompts are
 * assembled from several pieces, so the same text rarely repeats.
 */

/** A deterministic source of numbers in [0, 1) (e.g. {@link mulberry32}). */
export type Rng = () => number;

/** Questions a user asks. */
export const QUESTIONS: readonly string[] = [
  'What is the difference between a virus and a bacterium?',
  'How does a refrigerator keep food cold?',
  'Why is the sky blue during the day and red at sunset?',
  'What causes the seasons on Earth?',
  'How do vaccines train the immune system?',
  'What is the capital of Australia, and why was it chosen?',
  'How do I make a sourdough starter from scratch?',
  'What are the main causes of inflation?',
  'Can you explain how a hash table works?',
  'What is the difference between TCP and UDP?',
  'How does compound interest work?',
  'Why do cats purr?',
  'What is the best way to learn a new language as an adult?',
  'How do solar panels turn sunlight into electricity?',
  'What happened during the fall of the Roman Empire?',
  'How many hours of sleep does a teenager need?',
  'What is a black hole made of?',
  'How do I reverse a linked list in Python?',
  'What are the symptoms of dehydration?',
  'Why does bread go stale?',
  'How do airplanes stay in the air?',
  'What is the difference between weather and climate?',
  'How can I improve my credit score?',
  'What does a product manager actually do?',
  'Is it safe to eat raw cookie dough?',
  'How do I center a div in CSS?',
  'What is the theory of relativity in simple terms?',
  'Why do we have leap years?',
  'How does a bill become a law in the United States?',
  'What are some good exercises for lower back pain?',
  'How do I politely decline a meeting invitation?',
  'What is the difference between a stock and a bond?',
  'How does the human heart pump blood?',
  'What are the pros and cons of remote work?',
  'How long should I boil an egg for a soft yolk?',
  'What is machine learning, and how is it different from statistics?',
  'Why is the ocean salty?',
  'How do noise-cancelling headphones work?',
  'What should I pack for a week of hiking in the mountains?',
  'How does photosynthesis work?',
  'What is the difference between affect and effect?',
  'How do I write a good cover letter?',
  'What are prime numbers used for in cryptography?',
  'How do earthquakes happen?',
  'What is a good name for a small coffee shop?',
  'How do I keep basil alive indoors?',
  'What is the difference between a list and a tuple in Python?',
  'Why do onions make you cry?',
  'How do electric cars compare to petrol cars over ten years?',
  'What is the plot of Pride and Prejudice?',
  'How can I stop procrastinating?',
  'What does the mitochondria do in a cell?',
  'How do I convert Celsius to Fahrenheit?',
  'What is the tallest mountain in Africa?',
  'How does a blockchain reach agreement without a central server?',
  'Why do leaves change colour in autumn?',
  'What are the rules of chess for castling?',
  'How do I remove a red wine stain from a carpet?',
  'What is a good beginner workout routine?',
  'How does the stock market work?',
  'What is the meaning of the word serendipity?',
  'How do I set up a Git repository for an existing project?',
  'Why is exercise good for mental health?',
  'What is the difference between baking soda and baking powder?',
  'How do birds know where to migrate?',
  'What is an API, explained for a non-programmer?',
  'How can I reduce my household energy bill?',
  'What were the causes of the First World War?',
  'How do I calculate the area of a circle?',
  'What is the best way to store fresh herbs?',
  'How do tides work?',
  'What is the difference between empathy and sympathy?',
  'How do I tell if a watermelon is ripe?',
  'Why do we dream?',
  'What are the main differences between Spanish and Portuguese?',
  'How do I handle a difficult conversation with a coworker?',
  'What is quantum computing good for?',
  'How does a bicycle stay upright when moving?',
  'What is the population of Tokyo?',
  'How should I prepare for a job interview?',
  'What does a neural network learn during training?',
  'How do I make my houseplants grow faster?',
  'What is the water cycle?',
  'Why is sleep important for memory?',
  'How do I write a SQL query that joins two tables?',
  'What are the benefits of meditation?',
  'How do rainbows form?',
  'What is the difference between a crocodile and an alligator?',
  'How much water should I drink each day?',
  'What is the history of the printing press?',
  'How do I start investing with a small amount of money?',
  'What makes a good password?',
  'How does GPS know where I am?',
  'What is the best way to cook rice on the stove?',
  'Why do some people get seasick?',
  'How do I fix a leaking tap?',
  'What is the role of the Federal Reserve?',
  'How does caffeine affect the body?',
  'What is a haiku, and can you give an example?',
  'How do I make a budget spreadsheet?',
];

/** Instructions a user gives. */
export const INSTRUCTIONS: readonly string[] = [
  'Write a short poem about the sea at night.',
  'Summarize the following paragraph in two sentences.',
  'Translate this sentence into French: the train leaves at seven in the morning.',
  'Explain recursion to a ten year old.',
  'Write a polite email asking my landlord to fix the heating.',
  'List five ideas for a birthday party on a budget.',
  'Give me a recipe for a quick vegetarian dinner.',
  'Write a function in JavaScript that checks whether a string is a palindrome.',
  'Describe the water cycle in simple steps.',
  'Draft a tweet announcing our new product launch.',
  'Rewrite this paragraph to sound more professional.',
  'Suggest a name for a fantasy novel about a lost kingdom.',
  'Write a haiku about autumn leaves.',
  'Explain the difference between RAM and storage.',
  'Give me three tips for better sleep.',
  'Write a short story that begins with a knock at the door.',
  'Create a packing list for a beach holiday.',
  'Explain what a mortgage is in plain language.',
  'Write a limerick about a cat who loves cheese.',
  'Outline a five paragraph essay on climate change.',
  'Correct the grammar in this sentence: me and him goes to the store yesterday.',
  'Write a product description for a stainless steel water bottle.',
  'Explain how to change a flat tyre step by step.',
  'Give me a weekly meal plan for a family of four.',
  'Write a thank you note to a teacher.',
  'Describe the main features of Gothic architecture.',
  'Write a Python script that counts the words in a text file.',
  'Explain the rules of football to someone who has never watched it.',
  'Summarize the history of the internet in one paragraph.',
  'Write a motivational message for a friend starting a new job.',
  'Give me five interview questions for a software engineer.',
  'Explain why the moon has phases.',
  'Write a dialogue between a customer and a waiter.',
  'Describe a sunset over the desert.',
  'Make a list of the planets in order from the sun.',
  'Write a cover letter opening for a marketing role.',
  'Explain the difference between a virus and malware.',
  'Give me a simple explanation of supply and demand.',
  'Write a short speech for a wedding toast.',
  'Explain how to brew pour-over coffee.',
  'Write a regular expression that matches an email address.',
  'Describe the life cycle of a butterfly.',
  'Suggest three books for someone who liked The Hobbit.',
  'Write the opening paragraph of a mystery novel.',
  'Explain what inflation means for my savings.',
  'Write a bash command that finds all files larger than one gigabyte.',
  'Give me a study plan for learning statistics in a month.',
  'Describe how a bill is passed in parliament.',
  'Write a short review of a fictional Italian restaurant.',
  'Explain the greenhouse effect.',
  'Write an apology message for missing a deadline.',
  'List the pros and cons of living in a big city.',
  'Explain how vaccines work in three sentences.',
  'Write a children’s story about a brave little turtle.',
  'Give step by step instructions for planting tomatoes.',
  'Explain object oriented programming with an example.',
  'Write a job posting for a part-time barista.',
  'Describe the taste of a mango to someone who has never had one.',
  'Explain the difference between a comet and an asteroid.',
  'Write a short biography of Marie Curie.',
  'Suggest a weekend itinerary for Lisbon.',
  'Write a sonnet about the city in the rain.',
  'Explain what an index does in a database.',
  'Give me a checklist for moving to a new apartment.',
  'Rewrite this sentence in the passive voice: the committee approved the budget.',
  'Write a short horror story in exactly five sentences.',
  'Explain how interest rates affect house prices.',
  'Describe the rules of tic-tac-toe.',
  'Write a slogan for a bicycle repair shop.',
  'Continue the story from where it stops.',
];

/** Expository and narrative sentences: the body of completion prompts and context in chats. */
export const SENTENCES: readonly string[] = [
  'The old lighthouse had stood on the cliff for more than a century.',
  'Every morning the baker opened the shop before the sun came up.',
  'The committee met on Tuesday to discuss the new budget proposal.',
  'Photosynthesis converts light energy into chemical energy stored in glucose.',
  'She packed her bag, locked the door and walked to the station in the rain.',
  'The river flooded the lower part of the town after three days of storms.',
  'Most modern processors contain several cores that run instructions in parallel.',
  'The museum reopened last spring after a long renovation.',
  'He had never seen so many stars as on that night in the desert.',
  'Prices of fresh vegetables rose sharply during the dry summer.',
  'The company announced that it would hire two hundred new engineers.',
  'A gentle wind moved through the tall grass behind the farmhouse.',
  'Water boils at a lower temperature at high altitude because the air pressure is lower.',
  'The children built a small raft from branches and old rope.',
  'Our team spent the week fixing bugs before the release.',
  'The first printed books in Europe appeared in the fifteenth century.',
  'Her grandmother kept a garden full of roses, mint and tomatoes.',
  'The city council voted to close the main street to cars on Sundays.',
  'Bees communicate the location of flowers through a kind of dance.',
  'The train was delayed by forty minutes because of a signal failure.',
  'Doctors recommend at least thirty minutes of moderate exercise a day.',
  'The village festival takes place every year at the end of August.',
  'A good night of sleep helps the brain store what it learned during the day.',
  'The report found that most customers preferred the simpler design.',
  'He opened the letter slowly, afraid of what it might say.',
  'The recipe calls for two cups of flour, one egg and a pinch of salt.',
  'Volcanoes form where molten rock rises through cracks in the crust.',
  'The software update changed the way files are synchronised between devices.',
  'On the last day of school the teacher read the class a story.',
  'The bridge was designed to withstand winds of over two hundred kilometres an hour.',
  'Many birds fly south for the winter to find food and warmer weather.',
  'The negotiations lasted late into the night without an agreement.',
  'She learned to play the piano when she was six years old.',
  'The ship left the harbour at dawn with a crew of twelve.',
  'Regular backups protect your data against hardware failure and mistakes.',
  'The forest was quiet except for the sound of a distant woodpecker.',
  'Economists expect growth to slow down in the second half of the year.',
  'The detective noticed a small scratch on the window frame.',
  'Coffee was first cultivated in the highlands of Ethiopia and Yemen.',
  'The new library has a reading room that looks out over the park.',
  'After the storm, the fishermen repaired their nets on the beach.',
  'The human body contains about sixty percent water.',
  'Our neighbours adopted a dog from the local shelter last week.',
  'The mountain path was steep, narrow and covered with loose stones.',
  'A compiler translates source code into instructions a machine can run.',
  'The audience applauded for several minutes after the final song.',
  'Heavy snow closed the pass for most of the winter.',
  'The startup raised its first round of funding from local investors.',
  'He wrote down every idea in a small notebook he carried everywhere.',
  'The Amazon rainforest produces a large share of the world’s oxygen.',
  'Our flight was cancelled, so we spent the night at the airport hotel.',
  'The painting shows a woman reading a letter by an open window.',
  'Strong passwords combine length with words that are hard to guess.',
  'The market square was full of stalls selling cheese, bread and flowers.',
  'Scientists have discovered a new species of frog in the cloud forest.',
  'The meeting was moved to Thursday because the manager was ill.',
  'When the power went out, we lit candles and played cards.',
  'The marathon route passes through every district of the city.',
  'Good documentation makes a project easier for newcomers to join.',
  'The orchestra rehearsed the symphony for three weeks before the concert.',
  'Most of the town’s houses were built from the local grey stone.',
  'The experiment showed that the plants grew faster under blue light.',
  'My brother is learning to cook and tries a new recipe every weekend.',
  'The ancient road connected the coast with the cities of the interior.',
  'A sudden noise woke the whole house in the middle of the night.',
  'The quarterly results were better than analysts had expected.',
  'She planted an apple tree in the garden the year her son was born.',
  'The database stores each order together with the customer’s address.',
  'Fog rolled in from the sea and covered the harbour by evening.',
  'The school introduced a new programme to teach children to code.',
  'The hotel room had a small balcony overlooking the lake.',
  'Trade between the two countries has doubled in the last decade.',
  'The cat slept all afternoon in a patch of warm sunlight.',
  'The engineers tested the prototype in a wind tunnel.',
  'Local farmers sell their produce at the market every Saturday.',
  'The professor explained the theorem with a simple drawing on the board.',
  'The concert had to be moved indoors because of the rain.',
  'Reading every day is one of the best ways to improve your vocabulary.',
  'The village lies at the end of a long valley between two mountains.',
  'The patient was advised to rest and drink plenty of fluids.',
  'They found an old map hidden inside the cover of a book.',
  'The city’s population has grown steadily since the new port opened.',
  'A small error in the configuration brought down the whole service.',
  'Autumn is the season when the vineyards are harvested.',
  'Their first album sold only a few hundred copies.',
  'The lake freezes every winter, and people skate on it for weeks.',
  'Careful planning saved the project several months of work.',
  'The old man fed the pigeons in the park every afternoon.',
  'The road was closed after a landslide blocked both lanes.',
  'Children learn languages more easily when they hear them every day.',
  'The kitchen smelled of fresh bread and strong coffee.',
  'The island can only be reached by boat when the sea is calm.',
  'Our survey asked people how they usually travel to work.',
  'The king’s castle was built on a hill above the river.',
  'Most people check their phones within minutes of waking up.',
  'The runners gathered at the starting line just before nine.',
  'The novel follows a family over three generations.',
  'Winter tyres improve grip on snow and ice.',
  'The treaty was signed by twelve countries in the spring of that year.',
];

/** System prompts clients set. */
export const SYSTEM_PROMPTS: readonly string[] = [
  'You are a helpful assistant.',
  'You are a helpful assistant. Answer concisely.',
  'You are a friendly tutor who explains things step by step.',
  'You are an expert software engineer. Answer with code where useful.',
  'You are a customer support agent for an online bookshop.',
  'You are a travel guide who knows Europe well.',
  'Answer in one short paragraph.',
  'You are a careful editor. Keep the author’s voice.',
  'You are a nutrition coach. Be practical and encouraging.',
  'You are a historian. Cite dates where you can.',
  'You translate between English, French and Spanish.',
  'You are a math teacher for high school students.',
];

/** Earlier assistant turns in multi-turn chats. */
export const REPLIES: readonly string[] = [
  'Sure, here is a short overview.',
  'That is a great question. In short, it depends on a few factors.',
  'Here are three options you could consider.',
  'Of course. Let me explain it step by step.',
  'I can help with that. Could you tell me a bit more about what you need?',
  'The main idea is simple, although the details take some time.',
  'Yes, that is correct, with one small exception.',
  'Here is a first draft you can adjust.',
  'There are several ways to do this; the easiest is the first one.',
  'Thanks for the details. Based on them, I would suggest the following.',
  'Good point. Let me correct my earlier answer.',
  'In most cases, yes, but it is worth checking the specifics.',
];

/** Short openers: greetings and one-line requests (the short end of organic prompt lengths). */
export const SHORT: readonly string[] = [
  'Hi!',
  'Hello there.',
  'Tell me a joke.',
  'Thanks!',
  'Why?',
  'Can you elaborate?',
  'Give me an example.',
  'Say that again, shorter.',
  'What time zone is Tokyo in?',
  'Define entropy.',
  'Continue.',
  'Is that true?',
  'Translate to Spanish: good morning.',
  'Who wrote Hamlet?',
  'What is two plus two?',
  'Explain like I am five.',
  'It was late.',
  'Nobody answered the phone.',
  'The door creaked open.',
  'Rain again today.',
];

/** The number of whitespace-separated words of `text`. */
export function wordCount(text: string): number {
  const t = text.trim();
  return t.length === 0 ? 0 : t.split(/\s+/).length;
}

const pick = <T>(rnd: Rng, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length) % xs.length] as T;

/** Pieces grouped by word count, for exact fills. */
function byLength(pieces: readonly string[]): Map<number, string[]> {
  const m = new Map<number, string[]>();
  for (const p of pieces) {
    const n = wordCount(p);
    const list = m.get(n) ?? [];
    list.push(p);
    m.set(n, list);
  }
  return m;
}
const FILLERS = [...SENTENCES, ...SHORT];
const FILL_BY_LEN = byLength(FILLERS);
const MIN_FILL = Math.min(...FILL_BY_LEN.keys());
const MAX_FILL = Math.max(...FILL_BY_LEN.keys());

/**
 * Sentences whose word counts add up to `words` (exactly where the corpus allows: it always does from
 * {@link MIN_FILL} words on), in a random order.
 */
export function fill(rnd: Rng, words: number): string[] {
  const out: string[] = [];
  let r = Math.max(0, Math.round(words));
  while (r >= MIN_FILL) {
    const exact = FILL_BY_LEN.get(r);
    if (exact !== undefined && (r <= MAX_FILL || rnd() < 0.2)) {
      out.push(pick(rnd, exact));
      break;
    }
    const fits = FILLERS.filter((s) => wordCount(s) <= r - MIN_FILL);
    if (fits.length === 0) {
      const below = [...FILL_BY_LEN.keys()].filter((n) => n <= r).sort((a, b) => b - a)[0];
      if (below === undefined) break;
      out.push(pick(rnd, FILL_BY_LEN.get(below) as string[]));
      break;
    }
    const s = pick(rnd, fits);
    out.push(s);
    r -= wordCount(s);
  }
  return out;
}

/**
 * A user turn of about `words` words: a question or an instruction (or a short opener), with context
 * sentences before or after it when the wanted length calls for them.
 */
export function userText(rnd: Rng, words: number): string {
  const heads = [...QUESTIONS, ...INSTRUCTIONS, ...SHORT].filter((h) => wordCount(h) <= Math.max(1, words));
  const head = heads.length === 0 ? pick(rnd, SHORT) : pick(rnd, heads);
  const context = fill(rnd, words - wordCount(head));
  if (context.length === 0) return head;
  return rnd() < 0.5 ? `${context.join(' ')}\n\n${head}` : `${head}\n\n${context.join(' ')}`;
}

/** An earlier assistant turn of about `words` words. */
export function assistantText(rnd: Rng, words: number): string {
  const heads = REPLIES.filter((h) => wordCount(h) <= Math.max(1, words));
  const head = heads.length === 0 ? pick(rnd, REPLIES) : pick(rnd, heads);
  return [head, ...fill(rnd, words - wordCount(head))].join(' ');
}

/** A system prompt of about `words` words. */
export function systemText(rnd: Rng, words: number): string {
  let best = pick(rnd, SYSTEM_PROMPTS);
  for (const s of SYSTEM_PROMPTS) {
    const d = Math.abs(wordCount(s) - words) - Math.abs(wordCount(best) - words);
    if (d < 0 || (d === 0 && rnd() < 0.5)) best = s;
  }
  const rest = fill(rnd, words - wordCount(best));
  return [best, ...rest].join(' ');
}

/**
 * A completion prompt of about `words` words: text to continue, a question-and-answer frame, or a bare
 * request, as completion clients write them.
 */
export function completionText(rnd: Rng, words: number): string {
  const style = rnd();
  if (style < 0.6 || words < 4) return fill(rnd, words).join(' ') || pick(rnd, SHORT);
  if (style < 0.8) return `Question: ${userText(rnd, words - 2)}\nAnswer:`;
  return userText(rnd, words);
}
