"""Every word the workbench shows, in Chinese (the default) and English, in one place.

Vocabulary values (stages, actions, deadlines, fields) are looked up here too and fall back to
the contract's own word, so a new action or field shows up named before it is translated.
"""

from __future__ import annotations

from fastapi import Request

LANGUAGES = ("zh", "en")
LANG_COOKIE = "complaints_desk_lang"

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "投诉工作台", "queue": "我的队列", "board": "应急小组看板", "breaches": "今日超时",
        "signin": "登录", "signin_hint": "用您的 API 密钥登录。", "key": "API 密钥", "signout": "退出",
        "signed_in_as": "当前用户", "unknown_key": "密钥无效：请检查后重试。",
        "stage": "阶段", "severity": "严重程度", "category": "类别", "channel": "渠道", "all": "全部",
        "filter": "筛选", "scope": "范围", "scope_mine": "我和本团队的", "scope_all": "全部未结", "complaint": "投诉", "next_deadline": "下一期限", "flags": "状态",
        "state_ok": "正常", "state_warning": "预警", "state_breach": "超时", "escalated": "已升级",
        "paused": "已暂停", "no_rows": "没有待办投诉。", "live": "每 5 秒自动刷新",
        "case_file": "案卷", "subject": "主题", "content": "投诉内容", "requested_remedy": "诉求",
        "complainant": "投诉人", "respondent": "被投诉对象", "received_at": "收到时间", "outcome": "结果",
        "handler": "经办人", "lead": "应急负责人", "none": "无",
        "no_case_file": "您不能查看此案卷：它属于另一团队，且未升级、已有经办人。",
        "evidence": "证据", "upload": "上传", "download": "下载", "files": "文件",
        "timeline": "时间线", "deadlines": "期限", "deadline": "期限", "due": "到期", "state": "状态",
        "actions": "可办理的操作", "no_actions": "当前阶段没有可办理的操作。", "submit": "提交",
        "read_only": "只读：审计员不能办理操作。", "escalate": "升级至应急小组", "reason": "理由",
        "acknowledge": "认领", "no_cases": "没有未结的应急案件。", "first_escalated_at": "首次升级",
        "no_breaches": "今天没有超时。", "breached_at": "超时时间",
        "refused": "操作被拒绝", "yes": "是", "no": "否", "choose": "请选择", "one_per_line": "每行一项",
        "entered": "进入阶段", "escalation": "升级", "extension": "延期", "pause": "暂停", "resumed": "恢复",
        "met": "已完成", "open": "进行中", "breached": "已超时", "extended": "已延期",
        "back": "返回队列", "not_found": "没有这件投诉。", "unavailable": "系统暂时无法应答，请稍后重试。",
        "queued": "已排队，尚无处理程序应答；稍后刷新查看结果。", "other_language": "English",
        "stage.receipt": "受理", "stage.assessment": "评估", "stage.investigation": "调查",
        "stage.solution": "处理方案", "stage.feedback": "反馈", "stage.revisit": "回访",
        "stage.summary": "总结", "stage.closed": "办结",
        "action.assess": "评估", "action.investigate": "调查", "action.propose_solution": "提出方案",
        "action.record_execution": "记录执行", "action.record_feedback": "记录反馈", "action.record_revisit": "记录回访",
        "action.summarize": "总结办结", "action.withdraw": "撤诉", "action.extend": "延期（审批）",
        "action.pause": "暂停计时", "action.resume": "恢复计时", "action.merge": "合并重复投诉",
        "action.assign": "指派经办人", "action.claim": "认领经办",
        "deadline.assessment": "评估", "deadline.investigation": "调查", "deadline.plan": "方案",
        "deadline.execution": "执行", "deadline.summary": "总结", "deadline.decision": "答复（监管时限）",
        "field.handler": "经办人", "field.category": "类别", "field.severity": "严重程度", "field.product": "产品",
        "field.interim_measure": "临时措施（暂停催收联系）", "field.note": "备注", "field.findings": "调查结果",
        "field.root_cause": "根本原因", "field.substantiated": "投诉属实", "field.evidence": "证据",
        "field.plan": "方案", "field.remedies": "补救措施", "field.amount": "金额", "field.result": "执行结果",
        "field.accepted": "投诉人接受", "field.comment": "说明", "field.reached": "已联系上",
        "field.satisfaction": "满意度（1-5）", "field.improvements": "改进措施", "field.reason": "理由",
        "field.approver": "审批人", "field.approver_role": "审批人角色", "field.days": "天数",
        "field.into": "并入投诉编号", "field.code_a": "代码 A", "field.code_b": "代码 B", "field.code_c": "代码 C",
        "field.by": "操作人", "field.lead": "负责人",
    },
    "en": {
        "title": "Complaint workbench", "queue": "My queue", "board": "Emergency board", "breaches": "Today's breaches",
        "signin": "Sign in", "signin_hint": "Sign in with your API key.", "key": "API key", "signout": "Sign out",
        "signed_in_as": "Signed in as", "unknown_key": "Unknown key: check it and try again.",
        "stage": "Stage", "severity": "Severity", "category": "Category", "channel": "Channel", "all": "All",
        "filter": "Filter", "scope": "Show", "scope_mine": "mine and my team's", "scope_all": "all open", "complaint": "Complaint", "next_deadline": "Next deadline", "flags": "State",
        "state_ok": "on time", "state_warning": "warning", "state_breach": "breach", "escalated": "escalated",
        "paused": "paused", "no_rows": "Nothing in the queue.", "live": "refreshes every 5 s",
        "case_file": "Case file", "subject": "Subject", "content": "Complaint", "requested_remedy": "Requested remedy",
        "complainant": "Complainant", "respondent": "Respondent", "received_at": "Received", "outcome": "Outcome",
        "handler": "Handler", "lead": "Emergency lead", "none": "none",
        "no_case_file": "You may not read this case file: it belongs to another team, and it is neither "
                        "escalated nor unassigned.",
        "evidence": "Evidence", "upload": "Upload", "download": "Download", "files": "Files",
        "timeline": "Timeline", "deadlines": "Deadlines", "deadline": "Deadline", "due": "Due", "state": "State",
        "actions": "Actions now", "no_actions": "The stage accepts no action now.", "submit": "Submit",
        "read_only": "Read-only: auditors do not act.", "escalate": "Escalate to the emergency team",
        "reason": "Reason", "acknowledge": "Acknowledge", "no_cases": "No open emergency cases.",
        "first_escalated_at": "First escalated", "no_breaches": "No breaches today.", "breached_at": "Breached at",
        "refused": "Refused", "yes": "yes", "no": "no", "choose": "choose", "one_per_line": "one per line",
        "entered": "entered", "escalation": "escalation", "extension": "extension", "pause": "pause",
        "resumed": "resumed", "met": "met", "open": "open", "breached": "breached", "extended": "extended",
        "back": "Back to the queue", "not_found": "No such complaint.",
        "unavailable": "The service does not answer right now; try again shortly.",
        "queued": "Queued: no worker has answered yet; reload later to see the outcome.", "other_language": "中文",
    },
}


def lang_of(request: Request) -> str:
    """`?lang=` first, then the cookie it left, then Chinese."""
    for chosen in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if chosen in LANGUAGES:
            return chosen
    return "zh"


def words(lang: str):
    """`t(word)`: the word in `lang`, else its English, else the word itself (`stage.closed` -> `closed`)."""
    own, english = TEXT[lang], TEXT["en"]

    def t(word: str) -> str:
        return own.get(word) or english.get(word) or word.rpartition(".")[2]

    return t
