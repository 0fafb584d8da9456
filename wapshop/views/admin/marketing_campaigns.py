"""Campaigns for operators: a coupon plus an SMS to a segment. A draft shows its preview (who
and how many, who is left out and why); sending writes the outbox in committed batches; the
page then shows the campaign's report."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from wapshop.clock import utcnow
from wapshop.extensions import db
from wapshop.forms import take_refusal
from wapshop.forms.admin import ActionForm
from wapshop.forms.admin.marketing import CampaignForm
from wapshop.services import phones
from wapshop.services.members import Settings, campaigns
from wapshop.views.admin.access import OPERATORS, current_staff, staff_required

bp = Blueprint("marketing_campaigns", __name__, url_prefix="/marketing/campaigns")
PREVIEW_SHOWN = 50


def _form() -> CampaignForm:
    form = CampaignForm()
    form.coupon_id.choices = [(0, "不附带")] + [
        (c.id, f"{c.code} {c.name}") for c in campaigns.coupon_choices()
    ]
    return form


def _campaign_or_404(campaign_id: int):
    campaign = campaigns.get(campaign_id)
    if campaign is None:
        abort(404)
    return campaign


@bp.get("/")
@staff_required(*OPERATORS)
def index():
    return render_template(
        "admin/marketing/campaigns.html",
        title="营销短信",
        campaigns=campaigns.listing(),
        statuses=campaigns.STATUS_LABELS,
        sizes=campaigns.segment_sizes(),
    )


@bp.route("/new", methods=["GET", "POST"])
@staff_required(*OPERATORS)
def new():
    form, page = _form(), "admin/marketing/campaign_edit.html"
    if request.method == "GET":
        return render_template(page, title="新建营销短信", form=form)
    if not form.validate_on_submit():
        return render_template(page, title="新建营销短信", form=form), 400
    try:
        campaign = campaigns.create_campaign(
            form.name.data.strip(),
            form.segment.data,
            form.coupon_id.data or None,
            form.message.data,
            current_staff(),
        )
    except campaigns.CampaignRefused as refused:
        take_refusal(form, refused)
        return render_template(page, title="新建营销短信", form=form), refused.status
    db.session.commit()
    return redirect(url_for("admin.marketing_campaigns.show", campaign_id=campaign.id), 303)


@bp.get("/<int:campaign_id>")
@staff_required(*OPERATORS)
def show(campaign_id):
    campaign = _campaign_or_404(campaign_id)
    settings = Settings.from_config(current_app.config)
    preview = campaigns.preview(campaign, utcnow(), settings)
    return render_template(
        "admin/marketing/campaign.html",
        title=f"营销短信 #{campaign.id}",
        campaign=campaign,
        preview=preview,
        shown=[phones.mask(p) for p in preview.phones[:PREVIEW_SHOWN]],
        sms=campaigns.compose(campaign, settings.shop_name),
        report=campaigns.report(campaign),
        statuses=campaigns.STATUS_LABELS,
        form=ActionForm(),
    )


@bp.post("/<int:campaign_id>/send")
@staff_required(*OPERATORS)
def send(campaign_id):
    campaign = _campaign_or_404(campaign_id)
    if not ActionForm().validate_on_submit():
        abort(400, "页面已过期，请刷新后再试。")
    settings = Settings.from_config(current_app.config)
    written = campaigns.send_all(campaign, utcnow, settings, db.session.commit)
    flash(f"已写入短信发件箱 {written} 条，将由短信任务分批发出。")
    return redirect(url_for("admin.marketing_campaigns.show", campaign_id=campaign.id), 303)
