"""Submit a recording, wait, fetch every kind of intelligence (docs/connector.md)."""

import asyncio
import sys

from connectors.symbl import SymblClient, SymblSettings, errors


async def main(recording: str) -> None:
    # Settings come from the environment (CALLSCOPE_SYMBL_BASE_URL, _APP_ID, _APP_SECRET, …) or arguments.
    async with SymblClient(SymblSettings()) as symbl:
        ref = await symbl.submit_audio_file(
            recording,
            {
                "name": "Support call",
                "enable_speaker_diarization": True,
                "diarization_speaker_count": 2,
                "confidence_threshold": 0.6,
                "trackers": [{"name": "Pricing", "vocabulary": ["how much does it cost", "discount"]}],
            },
        )
        print("submitted", ref.conversation_id, ref.job_id)
        try:
            await symbl.wait(ref.job_id, interval=2, deadline=600)
        except errors.WaitDeadlineExceeded as exc:  # the job goes on; poll again later
            sys.exit(f"still {exc.last_status} after {exc.waited_s:.0f}s")
        cid = ref.conversation_id
        messages = await symbl.get_messages(cid, verbose=True, sentiment=True)
        members = await symbl.get_members(cid)
        topics = await symbl.get_topics(cid, sentiment=True)
        questions = await symbl.get_questions(cid)
        follow_ups = await symbl.get_follow_ups(cid)
        action_items = await symbl.get_action_items(cid)
        analytics = await symbl.get_analytics(cid)
        trackers = await symbl.get_trackers_detected(cid)
        entities = await symbl.get_entities(cid)
        summary = await symbl.get_summary(cid, grace=60)  # a 404 while the summary is prepared is retried
        print(
            f"{len(messages.messages)} messages, {len(members.members)} members, {len(topics.topics)} topics, "
            f"{len(questions.questions)} questions, {len(follow_ups.follow_ups)} follow-ups, "
            f"{len(action_items.action_items)} action items, {len(analytics.metrics)} metrics, "
            f"{len(trackers)} trackers, {len(entities.entities)} entities, {len(summary.summary)} summary items"
        )


asyncio.run(main(sys.argv[1]))
