// A survey document of the API (pre-chat, offline, exit: server spec §9) as a form, and its
// answers in the shape the API takes: [{id, answer}], answer an array for a Checkbox.
// A question whose logicId some entry's showLogicId names is shown only while that entry is chosen.

export function many(value) {
  if (value === undefined || value === null || value === "") return [];
  return Array.isArray(value) ? value : [value];
}

function truthy(value) {
  return value === true || value === "true";
}

const SELECTIONS = new Set(["Dropdown Box", "Checkbox", "Radio Button", "Radio Button (side by side)"]);

export class SurveyForm {
  constructor(container, document_, prefix) {
    this.container = container;
    this.survey = document_.survey || {};
    this.prefix = prefix;
    this.questions = many(this.survey.questions && this.survey.questions.question)
      .slice()
      .sort((a, b) => Number(a.order) - Number(b.order));
    this.controlled = new Set();
    for (const question of this.questions) {
      for (const entry of many(question.entry)) {
        for (const id of many(entry.logic && entry.logic.showLogicId)) this.controlled.add(String(id));
      }
    }
    this.blocks = new Map();
    this.render();
    this.applyLogic();
  }

  get id() {
    return this.survey.id;
  }

  render() {
    this.container.replaceChildren();
    if (this.survey.header) {
      const header = document.createElement("p");
      header.className = "survey-header";
      header.textContent = this.survey.header;
      this.container.append(header);
    }
    this.questions.forEach((question, index) => {
      const block = this.question(question, `${this.prefix}-q${index}`);
      this.blocks.set(question, block);
      this.container.append(block);
    });
    this.container.onchange = () => this.applyLogic(); // one listener, of the form shown now
  }

  question(question, id) {
    const mandatory = truthy(question.mandatory);
    const type = question.type || "Text Field";
    const block = document.createElement("div");
    block.className = "question";
    const text = `${question.label || ""}${mandatory ? " (required)" : ""}`;
    if (type === "Checkbox" || type.startsWith("Radio Button")) {
      const set = document.createElement("fieldset");
      const legend = document.createElement("legend");
      legend.textContent = text;
      set.append(legend);
      if (type === "Radio Button (side by side)") set.className = "side-by-side";
      many(question.entry).forEach((entry, n) => {
        const input = document.createElement("input");
        input.type = type === "Checkbox" ? "checkbox" : "radio";
        input.name = id;
        input.id = `${id}-${n}`;
        input.value = String(entry.value);
        input.checked = truthy(entry.checked);
        const label = document.createElement("label");
        label.htmlFor = input.id;
        label.textContent = String(entry.displayValue ?? entry.value);
        const row = document.createElement("div");
        row.className = "choice";
        row.append(input, label);
        set.append(row);
      });
      block.append(set);
      return block;
    }
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = text;
    let field;
    if (type === "Dropdown Box") {
      field = document.createElement("select");
      const none = document.createElement("option");
      none.value = "";
      none.textContent = "Choose…";
      field.append(none);
      for (const entry of many(question.entry)) {
        const option = document.createElement("option");
        option.value = String(entry.value);
        option.textContent = String(entry.displayValue ?? entry.value);
        option.selected = truthy(entry.checked);
        field.append(option);
      }
    } else if (type === "Text Area") {
      field = document.createElement("textarea");
      field.rows = 4;
    } else {
      field = document.createElement("input");
      field.type = question.validationType === "email" ? "email" : "text";
      if (question.validationType === "numeric") field.inputMode = "numeric";
    }
    field.id = id;
    field.name = id;
    if (mandatory) field.setAttribute("aria-required", "true");
    if (!SELECTIONS.has(type) && question.lastKnownValue) field.value = String(question.lastKnownValue);
    block.append(label, field);
    return block;
  }

  chosen(question) {
    const block = this.blocks.get(question);
    const inputs = block.querySelectorAll("input[type=checkbox], input[type=radio]");
    if (inputs.length) return Array.from(inputs).filter((i) => i.checked).map((i) => i.value);
    const field = block.querySelector("select, textarea, input");
    const value = field.value.trim();
    return value ? [value] : [];
  }

  applyLogic() {
    const revealed = new Set();
    for (const question of this.questions) {
      if (this.blocks.get(question).hidden) continue; // a hidden choice reveals nothing
      const picked = new Set(this.chosen(question));
      for (const entry of many(question.entry)) {
        if (picked.has(String(entry.value))) {
          for (const id of many(entry.logic && entry.logic.showLogicId)) revealed.add(String(id));
        }
      }
    }
    for (const question of this.questions) this.blocks.get(question).hidden = this.hidden(question, revealed);
  }

  hidden(question, revealed) {
    const logicId = String(question.logicId ?? "");
    return this.controlled.has(logicId) && !revealed.has(logicId);
  }

  // The answers, or throws an Error naming the first mandatory question left empty (focused).
  answers() {
    const out = [];
    for (const question of this.questions) {
      const block = this.blocks.get(question);
      if (block.hidden) continue;
      const values = this.chosen(question);
      if (!values.length) {
        if (truthy(question.mandatory)) {
          const first = block.querySelector("input, select, textarea");
          if (first) first.focus();
          throw new Error(`Please answer: ${question.label || "this question"}`);
        }
        continue;
      }
      out.push({ id: question.id, answer: question.type === "Checkbox" ? values : values[0] });
    }
    return out;
  }

  focus() {
    const first = this.container.querySelector("input, select, textarea");
    if (first) first.focus();
    return Boolean(first);
  }
}
