/**
 * The GPT judge prompts of the two judge-scored benchmarks, as VLMEvalKit builds them (eval-protocols.md §5.5,
 * §5.6). The wording is the reference's, character for character, because the judge's reply (and so the score)
 * depends on it; layout quirks are kept and named below.
 *
 * - MM-Vet: VLMEvalKit `vlmeval/dataset/utils/mmvet.py`, `build_mmvet_gpt4_prompt` (the MM-Vet evaluator's
 *   few-shot correctness table). The long meme rows are wrapped over several lines in the reference source and
 *   those newlines are part of the prompt; `<AND>` / `<OR>` in the ground truth get a space on each side.
 * - MathVista: VLMEvalKit `vlmeval/dataset/utils/mathvista.py`, `get_gpt4_ICE` + `build_mathvista_gpt4_prompt`
 *   (answer extraction with 5 in-context examples). Quirks kept: the `'Model respone: '` typo in the final line,
 *   no newline between the prediction and `'Extracted answer:'`, each example framed by blank lines (the
 *   reference writes `\n` escapes inside triple-quoted strings, so each of those lines ends in two newlines).
 */

const MMVET_HEAD = `
Compare the ground truth and prediction from AI models, to give a correctness score for the prediction.
<AND> in the ground truth means it is totally right
only when all elements in the ground truth are present in the prediction,
and <OR> means it is totally right when any one element in the ground truth is present in the prediction.
The correctness score is 0.0 (totally wrong), 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, or 1.0 (totally right).
Just complete the last space of the correctness score.

Question | Ground truth | Prediction | Correctness
--- | --- | --- | ---
What is x in the equation? | -1 <AND> -5 | x = 3 | 0.0
What is x in the equation? | -1 <AND> -5 | x = -1 | 0.5
What is x in the equation? | -1 <AND> -5 | x = -5 | 0.5
What is x in the equation? | -1 <AND> -5 | x = -5 or 5 | 0.5
What is x in the equation? | -1 <AND> -5 | x = -1 or x = -5 | 1.0
Can you explain this meme? | This meme is poking fun at the fact that the names of the countries
Iceland and Greenland are misleading. Despite its name, Iceland is known for its beautiful green landscapes,
while Greenland is mostly covered in ice and snow. The meme is saying that the person has trust issues
because the names of these countries do not accurately represent their landscapes. |
The meme talks about Iceland and Greenland. It's pointing out that despite their names,
Iceland is not very icy and Greenland isn't very green. | 0.4
Can you explain this meme? | This meme is poking fun at the fact that the names of the countries
Iceland and Greenland are misleading. Despite its name, Iceland is known for its beautiful green landscapes,
while Greenland is mostly covered in ice and snow. The meme is saying that the person has trust issues
because the names of these countries do not accurately represent their landscapes. |
The meme is using humor to point out the misleading nature of Iceland's and Greenland's names.
Iceland, despite its name, has lush green landscapes while Greenland is mostly covered in ice and snow.
The text 'This is why I have trust issues' is a playful way to suggest
that these contradictions can lead to distrust or confusion.
The humor in this meme is derived from the unexpected contrast between the names of the countries
and their actual physical characteristics. | 1.0
`;

/**
 * `build_mmvet_gpt4_prompt`: the table, a newline, then `question | gt | prediction | ` (the judge completes the
 * last cell). `gt.replace('<AND>', ' <AND> ').replace('<OR>', ' <OR> ')`, applied to every occurrence.
 */
export function buildMmvetJudgePrompt(question: string, groundTruth: string, prediction: string): string {
  const gt = groundTruth.replaceAll('<AND>', ' <AND> ').replaceAll('<OR>', ' <OR> ');
  return `${MMVET_HEAD}\n${[question, gt, prediction, ''].join(' | ')}`;
}

const MATHVISTA_TASK = `
Please read the following example.
Then extract the answer from the model response and type it at the end of the prompt.

`;

/** `get_gpt4_ICE`: five extraction examples (integer, 1- and 2-decimal floats, list, multiple choice). */
export const MATHVISTA_EXAMPLES: readonly string[] = [
  `
Hint: Please answer the question requiring an integer answer and provide the final value,
e.g., 1, 2, 3, at the end.

Question: Which number is missing?

Model response: The number missing in the sequence is 14.

Extracted answer: 14
`,
  `
Hint: Please answer the question requiring a floating-point number with one decimal place and provide the final value,
e.g., 1.2, 1.3, 1.4, at the end.

Question: What is the fraction of females facing the camera?

Model response: The fraction of females facing the camera is 0.6,
which means that six out of ten females in the group are facing the camera.

Extracted answer: 0.6
`,
  `
Hint: Please answer the question requiring a floating-point number with two decimal places and provide the final value,
e.g., 1.23, 1.34, 1.45, at the end.

Question: How much money does Luca need to buy a sour apple candy and a butter-scotch candy? (Unit: $)

Model response: Luca needs $1.45 to buy a sour apple candy and a butterscotch candy.

Extracted answer: 1.45
`,
  `
Hint: Please answer the question requiring a Python list as an answer and provide the final list,
e.g., [1, 2, 3], [1.2, 1.3, 1.4], at the end.

Question: Between which two years does the line graph saw its maximum peak?

Model response: The line graph saw its maximum peak between 2007 and 2008.

Extracted answer: [2007, 2008]
`,
  `
Hint: Please answer the question and provide the correct option letter, e.g., A, B, C, D, at the end.

Question: What fraction of the shape is blue?

Choices: (A) 3/11 (B) 8/11 (C) 6/11 (D) 3/5

Model response: The correct answer is (B) 8/11.

Extracted answer: B
`,
];

/**
 * `build_mathvista_gpt4_prompt`: task description, each example followed by `'\n'`, the question (the TSV's
 * `question` column, which is MathVista's full query with hint and choices) and `'\n'`, then
 * `'Model respone: ' + prediction + 'Extracted answer:'` (typo and missing newline are the reference's).
 */
export function buildMathvistaExtractionPrompt(question: string, prediction: string): string {
  let prompt = MATHVISTA_TASK;
  for (const example of MATHVISTA_EXAMPLES) prompt += example + '\n';
  prompt += question + '\n';
  prompt += 'Model respone: ' + prediction;
  prompt += 'Extracted answer:';
  return prompt;
}
