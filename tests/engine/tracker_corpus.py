"""A tracker set of our own for precision and recall: vocabularies, sentences that paraphrase them (few share
words with the vocabulary), and sentences on neighbouring subjects that must not fire."""

from __future__ import annotations

TRACKERS = {
    "Budget objection": [
        "we don't have the budget",
        "it's too expensive",
        "we can't afford it",
        "the price is too high",
        "no money for this",
    ],
    "Competitor mention": [
        "we are using another vendor",
        "your competitor offered",
        "we are comparing alternatives",
        "another provider",
        "we are evaluating other tools",
    ],
    "Cancellation intent": [
        "I want to cancel",
        "we will not renew",
        "terminate the contract",
        "close my account",
        "we are going to leave",
    ],
    "Next steps": [
        "schedule a follow-up meeting",
        "send over the proposal",
        "set up a demo",
        "book a call next week",
        "loop in the decision maker",
    ],
    "Security concern": [
        "is our data secure",
        "data privacy",
        "compliance requirements",
        "SOC 2 report",
        "where is the data stored",
    ],
}

POSITIVES = {
    "Budget objection": [
        "Honestly we ran out of money for new software this year.",
        "That's way more than we can spend right now.",
        "Our finance team cut all discretionary spending.",
        "The cost is just not something we can justify at the moment.",
        "We simply cannot pay that much per seat.",
    ],
    "Competitor mention": [
        "We're also talking to a couple of other companies about this.",
        "Gong gave us a quote last week that was lower.",
        "Right now we use a different platform for call recording.",
        "We're looking at a few other options before we decide.",
    ],
    "Cancellation intent": [
        "We've decided to end our subscription at the end of the month.",
        "Please stop the service, we don't need it anymore.",
        "We won't be continuing once the current term is over.",
        "I'd like to shut down our account.",
    ],
    "Next steps": [
        "Let's find a time next Tuesday to go through the pricing together.",
        "Could you email me the quote so I can share it internally?",
        "I'll bring my manager to our next meeting.",
        "Can we get a walkthrough of the product for my team?",
    ],
    "Security concern": [
        "How do you protect the recordings you store?",
        "Our legal team will ask whether you are GDPR compliant.",
        "Do you encrypt customer information at rest?",
        "We need to know which country the servers are in.",
    ],
}

NEGATIVES = [
    "Hi, thanks for joining the call today.",
    "The weather in Chicago has been great this week.",
    "Can you hear me okay? You cut out for a second.",
    "Our team has about forty agents across two sites.",
    "I'm the operations manager for the support team.",
    "We mostly handle billing questions from customers.",
    "That makes sense, thanks for explaining.",
    "Let me share my screen so you can see the dashboard.",
    "We had a team lunch yesterday to celebrate the launch.",
    "The onboarding went smoothly and everyone liked it.",
    "Our agents spend a lot of time on hold with other departments.",
    "I started in this role about six months ago.",
    "Most calls come in between nine and eleven in the morning.",
    "We upgraded our laptops last quarter.",
    "The dashboard shows average handle time per agent.",
    "Sorry, my dog is barking in the background.",
]
