package main

// What customers and agents write, per issue type. Shipwell is a shipping platform for online
// shops (labels, tracking, carrier accounts, returns) with a REST API, webhooks and SDKs.
//
// The wording is constrained by baseline.yaml's keyword lists, because the replay computes
// signals from these bodies and the rules read them:
//   - every api_integration first message hits the "api" list, and no other ticket ever does
//     (integration-unsolved would otherwise fire on a login question);
//   - only billing_dispute tickets hit "billing_dispute";
//   - "churn" phrases appear only in the follow-ups that mean them (churnFollowUps).
// The generator's test checks the first two with the product's own signal extractor.

// scenario is one kind of request within an issue type, with everything said about it along
// the ways it can go. Empty fields mean the scenario never goes that way: a scenario without
// answer is never solved at frontline, one without note is never escalated by frontline.
type scenario struct {
	subject string
	body    string // the customer's first message
	ask     string // frontline asks for what it needs ("" = frontline answers straight away)
	details string // the customer's answer to ask
	answer  string // frontline's solution
	note    string // frontline's escalation note: what was checked, what is needed (60+ characters)
	reply   string // the receiving team's first message to the customer
	resolve string // the receiving team's resolution (escalation.resolved)
	onward  string // a tier-2 team's note passing it to Engineering ("" = tier 2 solves it)
}

// issueTypes are the issue types tickets carry; the api one is what the scenario measures.
const (
	apiIntegration  = "api_integration"
	billingQuestion = "billing_question"
	billingDispute  = "billing_dispute"
	accountAccess   = "account_access"
	dataRequest     = "data_request"
	shipmentIssue   = "shipment_issue"
	howTo           = "how_to"
	featureRequest  = "feature_request"
)

var scenarios = map[string][]scenario{
	apiIntegration: {
		{
			subject: "Webhook signature verification fails",
			body:    "Since {weekday} every tracking webhook we receive fails signature verification on our side. We compare the Shipwell-Signature header with an HMAC of the body using the secret from the dashboard. Nothing changed in our code.",
			ask:     "Could you send the delivery ID of one failed webhook and tell us which framework receives it? Some frameworks parse and re-encode the JSON before you can read the raw body.",
			details: "Delivery {dlv}, received {clock} UTC. We run {platform} behind nginx, the handler is in {lang}. Our computed HMAC starts with 9f2c, yours with 41ab.",
			answer:  "The signature covers the raw request body byte for byte. Your handler verifies the parsed and re-serialised JSON, which changes key order and spacing. Read the raw body before parsing and the signatures will match.",
			note:    "Webhook signature mismatch for delivery {dlv}. Customer verifies the raw body, secret rotated {weekday}; our docs steps all check out. Needs someone who can see what the sender signed.",
			reply:   "I looked up delivery {dlv}: it was signed with the secret that was active before your rotation on {weekday}. The dashboard showed the new secret while our sender still cached the old one for that endpoint.",
			resolve: "Sender cache for webhook secrets was not cleared on rotation; cleared it for the account, deliveries verify again. Defect filed for the cache invalidation.",
		},
		{
			subject: "401 Unauthorized on POST /v2/shipments",
			body:    "We created a new API key this morning and every POST /v2/shipments now returns 401 Unauthorized. GET requests with the same key work. Our integration is down for {n} orders.",
			ask:     "Which permissions did you tick when you created the key, and could you send the X-Request-Id of one failing call?",
			details: "The key has shipments:read and labels:write. Request ID {req}, sent at {clock} UTC from production.",
			answer:  "Creating shipments needs the shipments:write permission, which the new key lacks; labels:write only covers reprinting. Edit the key in Settings > Developers, tick shipments:write, and the calls will pass without a new key.",
			note:    "POST /v2/shipments returns 401 with a fresh key, GET works. Key has shipments:write per the dashboard and request {req} still fails. Frontline cannot read gateway logs.",
			reply:   "Request {req} was rejected by the gateway because the key was issued for the sandbox organisation linked to your account, not production. The dashboard labels both the same way, which is confusing; we are fixing that.",
			resolve: "Key was created in the linked sandbox organisation; customer issued a production key and calls pass. Dashboard labelling issue reported to the platform backlog.",
		},
		{
			subject: "429 Too Many Requests during label batch",
			body:    "Our nightly job creates around {n} labels through the API and since last week it gets 429 responses after the first few hundred. Our plan should allow far more. Is the rate limit lower now?",
			ask:     "Could you tell us how many requests per second the job sends and whether it retries on 429 using the Retry-After header?",
			details: "It sends 20 requests in parallel with no delay. On 429 it retries immediately, up to five times. Last failed run: {clock} UTC, request {req}.",
			answer:  "The limit is 10 requests per second per key. Sending 20 in parallel and retrying immediately keeps you above it. Honour Retry-After, or use POST /v2/labels/batch, which takes up to 500 shipments in one call.",
			note:    "Label batch hits 429 at about {n} requests although the customer now throttles to 8/s and honours Retry-After (request {req}). Limit docs say 10/s. Needs the gateway view of their traffic.",
			reply:   "Your traffic on {weekday} shows two processes sending with the same key, so the combined rate was about 16 per second. The second one is a stock sync that also polls GET /v2/shipments every second.",
			resolve: "Two clients shared one key and together exceeded the limit. Customer gave the stock sync its own key and switched it to webhooks; batch runs complete.",
		},
		{
			subject: "tracking.updated webhooks arrive twice",
			body:    "We receive most tracking.updated webhook events two or three times, a few seconds apart, and our shop then emails the end customer twice. How can we stop the duplicates?",
			ask:     "Could you send the event ID of one event that arrived twice, and tell us how long your endpoint takes to answer?",
			details: "Event {dlv} arrived three times between {clock} and a minute later. Our endpoint answers 200 within 300 ms, we log every request.",
			answer:  "Webhooks are delivered at least once: when your endpoint answers slower than 5 seconds we retry. Answer 200 first and process afterwards, and skip events whose event ID you have seen before; the ID is the same on every retry.",
			note:    "Duplicate tracking.updated deliveries although the customer's endpoint answers 200 within 300 ms (logs attached for {dlv}). Not the usual slow-endpoint retry; needs delivery logs.",
			reply:   "Our delivery log for {dlv} shows your endpoint answered 200, but through a redirect from http to https. We follow redirects and count the first response as failed, so the event is sent again.",
			resolve: "Webhook URL registered with http, redirected to https; retries came from the redirect. Customer updated the URL. Asked docs team to warn about redirects.",
		},
		{
			subject: "{sdk} SDK {ver}: create_label times out",
			body:    "After upgrading to the {sdk} SDK {ver}, create_label times out for {carrier} shipments. The same request through curl against the API returns within two seconds.",
			ask:     "Could you send the SDK debug log of one call (set SHIPWELL_DEBUG=1) and the request ID it shows?",
			details: "Debug log attached. The SDK sends request {req}, then waits 30 seconds for the response. {carrier} only; other carriers work.",
			answer:  "Version {ver} changed the default timeout to 10 seconds, and {carrier} labels with customs documents take longer to render. Set the timeout option to 30 seconds when you create the client.",
			note:    "{sdk} SDK {ver} hangs on create_label for {carrier} while curl with the same payload returns in 2 s. Debug log shows request {req} sent, no response read. Looks like an SDK defect.",
			reply:   "Thanks for the log, it let me reproduce it: {ver} does not read a chunked response when the label includes customs forms, which {carrier} labels to your destinations do. A fixed release is being prepared.",
			resolve: "SDK defect in response streaming for chunked label responses; fixed release published, customer upgraded and labels create normally.",
		},
		{
			subject: "OAuth token refresh returns invalid_grant",
			body:    "Our app connects merchants through OAuth. Since {weekday} refreshing an access token returns invalid_grant for about a third of merchants, and they have to reconnect. We have not changed the OAuth flow.",
			ask:     "Could you send two merchant account IDs that failed, the time of the failed refresh and whether your app may refresh the same token from two servers at once?",
			details: "Merchants {merchant} and {merchant2}, failed at {clock} UTC. We run two workers, each refreshes tokens on a schedule.",
			note:    "OAuth refresh returns invalid_grant for ~30% of merchants of this partner app (e.g. {merchant}). Two workers may refresh concurrently. Need the auth server logs to confirm rotation.",
			reply:   "Refresh tokens are single use. In the logs both of your workers refreshed the token for {merchant} within 40 ms; the second refresh used a token that was already spent, which revokes the grant.",
			resolve: "Concurrent refreshes from two workers revoked grants; customer moved refreshing into one worker with a lock. No failures since.",
		},
		{
			subject: "Sandbox key works, production key gets 403",
			body:    "Our integration passes every test in the sandbox. With the production API key the same calls to /v2/rates return 403 Forbidden. The key is active in the dashboard.",
			answer:  "Production rates need a connected carrier account: without one the call is refused with 403. Connect at least one carrier under Settings > Carriers and the same call will return rates.",
			ask:     "Do you have a carrier account connected in production, and which request ID did the 403 carry?",
			details: "Yes, {carrier} is connected and shows as active. Request {req} at {clock} UTC.",
			note:    "Production key gets 403 on /v2/rates with {carrier} connected and active (request {req}); sandbox passes. Checked key scopes and carrier status, both fine. Need gateway or rates-service logs.",
			reply:   "Request {req} was refused because the {carrier} contract on your account is still in review at {carrier}; until they approve it, the rates service answers 403 instead of a clear message.",
			resolve: "Carrier contract pending approval caused 403; contract approved, rates return. Asked for a clear error message in that state.",
		},
		{
			subject: "Callback URL receives no delivery events",
			body:    "We registered a callback URL for delivery events two days ago and have not received a single webhook, although {n} shipments were delivered since. The test button in the dashboard works.",
			ask:     "Which events is the subscription set to, and is it set on the production or the sandbox organisation?",
			details: "Events: shipment.delivered. Production. Subscription ID {dlv}.",
			answer:  "The event is called tracking.delivered, not shipment.delivered; the subscription is valid but no event with that name exists. Edit the subscription and pick tracking.delivered from the list.",
			note:    "No webhook deliveries for subscription {dlv} (tracking.delivered, production) although {n} shipments were delivered; test button works. Suspect the subscription is disabled on our side.",
			reply:   "Subscription {dlv} was paused automatically after your endpoint returned 5xx for more than 24 hours last month, and pausing does not show in the dashboard yet. I re-enabled it and replayed the last 3 days.",
			resolve: "Subscription auto-paused after a past outage without showing it; re-enabled and replayed. Dashboard status defect filed.",
		},
		{
			subject: "Label PDF from the API is blank",
			body:    "The API call GET /v2/labels/{ship}/pdf returns a PDF with an empty page for {carrier} shipments since this morning. The label shows fine in the dashboard. Around {n} parcels are waiting.",
			ask:     "Could you send one shipment ID and tell us whether you request the PDF in A6 or A4 format?",
			details: "Shipment {ship}, format A6, request {req}.",
			note:    "API label PDF blank for {carrier} (shipment {ship}, A6) while the dashboard renders it. Started this morning for several customers? Frontline cannot check the renderer.",
			reply:   "The A6 template for {carrier} was updated this morning and the API path still used the old template ID, so the rendered page was empty. Labels requested from now on render correctly.",
			resolve: "Stale template ID in the API label path after a template update; fixed and deployed, customer re-downloaded {n} labels.",
		},
		{
			subject: "Rates endpoint returns an empty list for {country}",
			body:    "The rates endpoint returns an empty list for every shipment to {country}, while the dashboard offers {carrier} for the same parcel. Our checkout shows no shipping option for those customers.",
			ask:     "Could you send the request body of one call, without personal data, and its request ID?",
			details: "Request {req}. We send the destination country as the full name, weight in grams, dimensions in cm.",
			answer:  "The destination must be an ISO 3166 country code (for example NO or CH), not the full name; with an unknown country the rates list is empty. The dashboard converts it for you, which is why it works there.",
			note:    "Rates endpoint returns [] for {country} with ISO codes (request {req}); dashboard offers {carrier} for the same parcel. Customs-relevant destination, maybe a missing service mapping.",
			reply:   "For {country} the rates service needs the parcel's customs value, which the dashboard fills from your product catalogue; without it {carrier} is filtered out silently. We will return a validation error instead.",
			resolve: "Customs value missing in API requests filtered out non-EU services; customer sends it now. Validation error for the missing value requested.",
		},
		{
			subject: "Idempotency key ignored, duplicate shipments",
			body:    "We send an Idempotency-Key header with every POST to the API, but when our worker retries after a timeout we still get a second shipment and a second label charge. {n} duplicates this week.",
			note:    "Duplicate shipments despite Idempotency-Key on retries after timeouts ({n} this week, e.g. request {req}). Header format looks right. Needs engineering to check the idempotency store.",
			reply:   "The idempotency key is stored per API key; your retries run in a second worker with a different key, so the API treats them as new requests. Within one API key the retries are deduplicated.",
			resolve: "Retries were sent with another API key, so idempotency did not apply; customer uses one key per integration. Duplicate labels credited.",
			ask:     "Do the original call and the retry use the same API key and exactly the same header value?",
			details: "Same header value, checked in our logs. Request {req} and its retry 31 seconds later.",
		},
		{
			subject: "Cursor pagination skips shipments",
			body:    "When we page through GET /v2/shipments with the cursor, some shipments never appear, about {n} a day. Our reconciliation finds them in the dashboard but not in the API results.",
			ask:     "Do you filter by updated_at or created_at, and do you start the next page with the cursor from the previous response?",
			details: "We filter updated_at since the last run and pass next_cursor as returned. Missing example: {ship}.",
			note:    "Cursor pagination on GET /v2/shipments with updated_at filter misses about {n} shipments a day (e.g. {ship}); customer uses next_cursor correctly. Looks like a consistency issue in the API.",
			reply:   "Shipments updated while you page move behind your cursor when you sort by updated_at. Sort by the id with updated_at as a filter and the cursor becomes stable; I checked {ship} and it would have been returned.",
			resolve: "Cursor unstable with updated_at ordering; customer sorts by id now. Docs will say so; no shipments were lost.",
		},
	},

	billingQuestion: {
		{
			subject: "VAT ID missing on invoice {invoice}",
			body:    "Our VAT ID is not printed on invoice {invoice}, so our accountant cannot deduct the VAT. It is saved in our company profile.",
			answer:  "The VAT ID was added to your profile after {invoice} was issued; invoices keep the details they were issued with. From the next invoice it is printed. I have asked for a corrected copy of {invoice} to be sent to your billing address.",
			note:    "Customer needs invoice {invoice} reissued with their VAT ID (added to the profile before issue date, still missing). Reissuing a closed invoice needs Billing.",
			reply:   "I have cancelled invoice {invoice} and issued a corrected one with your VAT ID; both are in Settings > Billing now and the corrected copy is on its way to your accountant.",
			resolve: "Invoice {invoice} cancelled and reissued with VAT ID; cause was a profile sync delay before issuing.",
			onward:  "Profile VAT IDs are not copied to invoices generated by the monthly run since the {month} release ({invoice} and others). Reissued this one by hand; the invoice job needs a fix.",
		},
		{
			subject: "Change of billing email address",
			body:    "Please send our invoices to {billing_email} from now on instead of the address of a colleague who has left.",
			answer:  "Done: invoices go to {billing_email} from now on. Account owners can change it themselves under Settings > Billing > Invoice recipient.",
		},
		{
			subject: "Proration after upgrading to Growth",
			body:    "We upgraded from Starter to Growth on the {dom} and the invoice charges the full Growth price for the month plus Starter. I expected a prorated amount. Can you explain the {amount}?",
			ask:     "Could you tell us the invoice number and whether the upgrade was made by you or by the sales team?",
			details: "Invoice {invoice}. We did it ourselves in the dashboard.",
			note:    "Upgrade Starter to Growth mid-month on invoice {invoice}: customer charged full Growth plus Starter ({amount}); proration should apply. Needs a credit note from Billing.",
			reply:   "You are right: the upgrade was billed without proration. I issued a credit note for the unused Starter days and the overlap, it will be set off against your next invoice.",
			resolve: "Credit note issued for the missed proration on {invoice}.",
			onward:  "Self-service upgrades on the {dom} were billed without proration for several accounts ({invoice}). Credit note done for this one; the billing job needs looking at.",
		},
		{
			subject: "Credit card expired, payment failed",
			body:    "We got an email that the payment for {month} failed. Our card expired. How do I add the new one without losing access?",
			answer:  "Nothing is blocked for 14 days after a failed payment. Add the new card under Settings > Billing > Payment method and we retry the open invoice within the hour.",
		},
		{
			subject: "Refund for unused label postage",
			body:    "We created {n} labels by mistake for a cancelled order batch and never shipped them. Can we get the postage of {amount} back?",
			ask:     "Could you send the shipment IDs or the batch ID, and confirm none of the parcels was handed to the carrier?",
			details: "Batch {batch}, all {n} labels were voided in the dashboard the same day. None was scanned.",
			answer:  "Labels voided within 14 days and never scanned are refunded automatically at the end of the month by {carrier}; the {amount} will show as credit on your next invoice.",
			note:    "Postage refund of {amount} for batch {batch} ({n} labels voided same day, never scanned). Older than the automatic refund window, so it needs Billing to claim it from {carrier}.",
			reply:   "{carrier} accepted the claim for batch {batch}. The {amount} will show as a credit on your next invoice.",
			resolve: "Carrier refund claim for batch {batch} approved; credit of {amount} booked.",
		},
		{
			subject: "Switch to annual billing",
			body:    "We would like to switch our plan to annual billing to get the discount. Can we do that mid-term and what happens to this month's payment?",
			note:    "Customer wants to move to annual billing mid-term and asks how the current month is credited. Needs a quote and a contract change from Billing.",
			reply:   "I prepared the switch: annual billing from the 1st of next month, this month stays monthly, and the annual discount applies from the start. The quote is in your billing settings for approval.",
			resolve: "Annual plan quote accepted; switch scheduled for the 1st.",
		},
		{
			subject: "Invoice address for our Austrian entity",
			body:    "We opened a second company in Austria and need separate invoices for its shipments. Can one Shipwell account bill two legal entities?",
			ask:     "Do the Austrian shipments go out from a separate warehouse or sender address in your account?",
			details: "Yes, they ship from our Graz warehouse, which is a separate sender address.",
			note:    "Customer needs shipments from their Graz sender address invoiced to a separate Austrian entity. Split invoicing per sender is a Billing setting frontline cannot change.",
			reply:   "I set up split invoicing: shipments from the Graz sender address are billed to your Austrian entity from today, with its own VAT ID. Everything else stays as it is.",
			resolve: "Split invoicing by sender address configured for the Austrian entity.",
		},
		{
			subject: "Fuel surcharge on the {month} invoice",
			body:    "The {month} invoice has a fuel surcharge line from {carrier} we did not see before. Where does it come from?",
			answer:  "{carrier} adjusts its fuel surcharge monthly and we pass it on at cost; it used to be included in the label price and is listed separately since {month}. The current rates are on the carrier page in Settings > Carriers.",
		},
	},

	billingDispute: {
		{
			subject: "Charged twice for {month}",
			body:    "Our card was charged twice for the {month} subscription, {amount} each, on the same day. Please refund the second charge.",
			reply:   "I can see both charges. The second one came from a retry after the bank answered late; I have refunded it, it takes 5 to 10 business days to appear.",
			resolve: "Duplicate subscription charge refunded.",
		},
		{
			subject: "Chargeback notice for invoice {invoice}",
			body:    "We received a chargeback notice from our bank about invoice {invoice}. We never opened a chargeback and want to pay the invoice. What do we do?",
			reply:   "The chargeback was opened by your card issuer's fraud check, not by you. I have contested it with your confirmation and set the invoice to be paid by bank transfer instead; details are attached.",
			resolve: "Issuer-initiated chargeback contested; invoice {invoice} paid by transfer.",
		},
		{
			subject: "Overcharged for weight surcharges",
			body:    "We were overcharged on {n} {carrier} labels: each has a weight surcharge although every parcel was under 2 kg. We dispute these charges.",
			reply:   "{carrier} re-weighed the parcels at their hub and billed the surcharge. I have opened a claim for all {n} with your packing records; if they accept, you get a credit.",
			resolve: "Weight surcharge claim accepted by {carrier}; credit issued.",
		},
		{
			subject: "Disputed charge for a plan we cancelled",
			body:    "We cancelled our Growth plan in {month} but were still charged {amount}. I dispute this charge and want it refunded.",
			reply:   "Your cancellation was registered for the end of the term, which ran until the 15th; the charge covers the last half month. I refunded the part after the 15th as a goodwill gesture.",
			resolve: "Partial refund issued; cancellation date confirmed to the customer.",
		},
	},

	accountAccess: {
		{
			subject: "Lost phone, cannot log in (2FA)",
			body:    "I lost my phone with the authenticator app and cannot log in to Shipwell. I am the account owner. How do I get back in?",
			ask:     "Do you still have the recovery codes you saved when you turned on two-factor login?",
			details: "No, I never saved them. I can confirm my identity however you need.",
			answer:  "Use one of your recovery codes on the login page under 'Use a recovery code', then set up the app on your new phone in Settings > Security.",
			note:    "Account owner lost 2FA device and has no recovery codes; identity not yet verified. Owner 2FA reset needs Accounts (ID check, second admin confirmation).",
			reply:   "To reset two-factor login for an owner we confirm identity through a second admin or a signed request on company paper. I have sent the form to your email on file.",
			resolve: "Identity verified by second admin; owner 2FA reset, login restored.",
		},
		{
			subject: "Invitation email never arrives",
			body:    "I invited {user} to our team three times and the invitation email never arrives, not in spam either.",
			answer:  "Your mail server rejected our invitation because of a strict sender policy. I have sent the invitation again from our second mail domain; it should arrive within minutes. You can also copy the invite link from Settings > Team.",
		},
		{
			subject: "SAML single sign-on: invalid audience",
			body:    "We are setting up single sign-on with {idp} and the login ends with 'invalid audience'. We followed the setup guide step by step.",
			ask:     "Could you send the entity ID and reply URL configured in {idp} (no certificates, please)?",
			details: "Entity ID https://app.shipwell.example/saml, reply URL https://app.shipwell.example/saml/acs.",
			answer:  "The entity ID must include your account slug: https://app.shipwell.example/saml/{slug}. Change it in {idp} and the audience will match.",
			note:    "SSO with {idp} fails with 'invalid audience'; entity ID includes the account slug, reply URL correct, per the guide. Accounts must check the SAML config on our side.",
			reply:   "Your account still had an old SAML configuration from a trial in spring with a different entity ID, and it took precedence. I removed it; please try the login again.",
			resolve: "Stale SAML config removed; SSO with {idp} works.",
			onward:  "SSO login with {idp} fails 'invalid audience' even with a clean config (tested on a fresh account too). Looks like a regression in SAML audience matching since last release.",
		},
		{
			subject: "Account locked after failed logins",
			body:    "Our warehouse account {user} is locked after too many failed logins. Can you unlock it? We cannot print labels.",
			answer:  "I unlocked the user; the lock lifts by itself after 30 minutes too. An admin can unlock users under Settings > Team.",
		},
		{
			subject: "Transfer account ownership",
			body:    "Our managing director who owns the Shipwell account is leaving. Please transfer ownership to me; I am already an admin.",
			note:    "Ownership transfer requested by an admin because the owner is leaving. Needs the owner's consent or the company verification, handled by Accounts.",
			reply:   "We can transfer ownership with the current owner's consent in the app, or with a request signed by your company. I sent both options to your email.",
			resolve: "Ownership transferred after signed company request.",
		},
		{
			subject: "Need more user seats",
			body:    "We need three more user seats for the peak season. Our plan says 10 users. Can we add seats just until January?",
			answer:  "You can add seats in Settings > Plan > Seats and remove them again later; they are billed per day. No need to change plan.",
		},
		{
			subject: "Warehouse users see invoices",
			body:    "Our warehouse staff can see our invoices and card details. Can we limit what they see?",
			answer:  "Give them the Shipper role instead of Admin in Settings > Team: shippers create labels and see shipments but not billing.",
			note:    "Customer needs warehouse users to create labels without seeing billing; Shipper role still shows invoices for them. Role setup beyond the standard ones needs Accounts.",
			reply:   "The users were in a custom role copied from Admin in {month}. I switched them to the standard Shipper role, which has no billing access; please check with one of them.",
			resolve: "Custom role replaced by Shipper; billing hidden from warehouse users.",
		},
	},

	dataRequest: {
		{
			subject: "GDPR data export",
			body:    "Under Article 15 GDPR a customer of ours asks which of their data you hold as our processor. Please send everything related to {email_end}.",
			note:    "GDPR access request for end customer {email_end} via the merchant (we are processor). Needs the Accounts data team to compile the export within the legal deadline.",
			reply:   "We found {n} shipments with that address. The export with the data we process on your behalf is ready in Settings > Privacy > Requests, available for 7 days.",
			resolve: "GDPR export for {email_end} compiled and delivered.",
		},
		{
			subject: "Delete data of a former employee",
			body:    "Please delete all personal data of our former employee {user}, who left in {month}.",
			ask:     "Is {user} still a user in your team, and do you want their shipments kept with the name removed?",
			details: "They are removed from the team already. Keep the shipments, remove the name.",
			answer:  "Done: {user} is deleted and their name is removed from the {n} shipments they created; the shipments stay for your records.",
			note:    "Erasure request for former employee {user}: remove personal data, keep shipments anonymised. Anonymising shipment history needs the Accounts data team.",
			reply:   "The data of {user} is erased and their {n} shipments now show 'former user'. We confirm the erasure in writing for your records; the letter is attached.",
			resolve: "Personal data of former employee erased, shipments anonymised.",
		},
		{
			subject: "Signed data processing agreement",
			body:    "Our data protection officer needs a countersigned data processing agreement before our audit on the {dom}. Where do we get one?",
			answer:  "The DPA is in Settings > Privacy; click 'Sign', and it is countersigned automatically and emailed to you.",
			note:    "Customer's DPO needs our DPA with their own amendments countersigned before an audit on the {dom}. Non-standard DPA needs Accounts and legal review.",
			reply:   "Our legal team accepted two of your three amendments; the third conflicts with our subprocessor list. The countersigned version with the two is attached.",
			resolve: "Amended DPA countersigned and sent.",
		},
		{
			subject: "Export of all shipments of the last 12 months",
			body:    "For our annual audit we need every shipment of the last 12 months with costs. The dashboard export stops at 10,000 rows.",
			answer:  "Exports over 10,000 rows are built in the background: use Reports > Shipments > Export with the date range, and you get an email with the file when it is ready.",
			note:    "Audit export of 12 months of shipments with costs; the background export failed twice for this account ({n} rows). Needs Accounts to run it for them.",
			reply:   "I ran the export for you: {n} shipments with costs, split into monthly files because of the size. The link is valid for 7 days.",
			resolve: "12-month export delivered manually.",
			onward:  "Background shipments export fails at about {n} rows for this account (job times out, twice). Manual export done; the export job needs fixing.",
		},
	},

	shipmentIssue: {
		{
			subject: "Parcel {tracking} has not moved for 6 days",
			body:    "Parcel {tracking} with {carrier} shows 'in transit' for 6 days now and our customer is asking. Can you find out where it is?",
			answer:  "I asked {carrier}: the parcel was misrouted to the wrong hub and is on its way back, expected delivery in 2 days. If it has not arrived by then we open a loss claim for you.",
		},
		{
			subject: "Change delivery address after label creation",
			body:    "Our customer moved and we need parcel {tracking} to go to a new address. The label is already printed and handed over to {carrier}.",
			answer:  "{carrier} accepts an address change for parcels in transit; I requested it for {tracking}. There is a fee of €4.50 which will show on your next invoice.",
		},
		{
			subject: "Customs documents missing for {country}",
			body:    "{carrier} returned a parcel to {country} because the customs invoice was missing. We thought Shipwell prints it with the label.",
			answer:  "Customs documents are printed with the label when the product's HS code and value are set. The product in this shipment has no HS code; add it under Products and the next label will include the invoice.",
		},
		{
			subject: "Damaged parcel, how to claim",
			body:    "A parcel arrived damaged at our customer ({tracking}). How do we file a claim with {carrier} through Shipwell?",
			answer:  "Open the shipment and choose 'Report damage'; upload photos of the parcel and contents. We file the claim with {carrier}, who usually answer within 10 business days.",
		},
		{
			subject: "Pickup did not happen",
			body:    "{carrier} did not come for the scheduled pickup today at our {warehouse} warehouse. {n} parcels are waiting.",
			answer:  "{carrier} confirmed a missed pickup on their side and rescheduled it for tomorrow morning. You can also drop the parcels at any {carrier} point; the labels stay valid.",
		},
	},

	howTo: {
		{
			subject: "Print labels in bulk",
			body:    "How can I print all labels of today's orders at once instead of one by one?",
			answer:  "Select the orders in the Orders list, choose 'Create labels', and then 'Print all' in the batch view; you get one PDF with every label, sorted by order number.",
		},
		{
			subject: "Return labels for our customers",
			body:    "Can our customers create their own return labels? We would like a return page on our shop.",
			answer:  "Yes: turn on the return portal under Settings > Returns, choose the carriers and the return reasons, and link to the portal page from your shop. Customers enter their order number and get a label.",
		},
		{
			subject: "Connect our {carrier} contract",
			body:    "We have our own contract with {carrier}. How do we use it in Shipwell instead of your rates?",
			answer:  "Go to Settings > Carriers > {carrier} > 'Use own contract' and enter your customer number and credentials from {carrier}. Labels then use your contract prices.",
		},
		{
			subject: "Custom tracking page with our logo",
			body:    "Can we show our own logo and colours on the tracking page our customers see?",
			answer:  "Yes, under Settings > Branding you upload your logo, pick colours, and can add a banner linking to your shop. The tracking emails use the same branding.",
		},
		{
			subject: "Default package size",
			body:    "Most of our parcels are the same box. Can we set it as default so we do not type the dimensions every time?",
			answer:  "Add the box under Settings > Packaging and mark it as default; new shipments get its dimensions and weight, and you can still change them per shipment.",
		},
		{
			subject: "Connect {platform} store",
			body:    "We moved our shop to {platform}. How do we connect it so orders appear in Shipwell?",
			answer:  "Install the Shipwell app from the {platform} app store and log in with your Shipwell account; orders from the last 30 days are imported and new ones appear within a minute.",
		},
		{
			subject: "Shipping rules by weight",
			body:    "Can Shipwell pick {carrier} automatically for heavy parcels and another carrier for light ones?",
			answer:  "Yes, with shipping rules: Settings > Automation > New rule, condition 'weight above 5 kg', action 'use {carrier}'. Rules run when the order is imported.",
		},
	},

	featureRequest: {
		{
			subject: "Feature request: {carrier} pickup booking",
			body:    "It would save us a phone call every day if we could book {carrier} pickups from Shipwell directly.",
			answer:  "Thank you, I added your vote to the pickup booking request; it is on the roadmap for next quarter for {carrier}. I will let you know when it ships.",
		},
		{
			subject: "Suggestion: packing slip with product images",
			body:    "Could the packing slip show product images? Our warehouse team would pick faster.",
			answer:  "Good idea; I passed it to our product team with your use case. For now the packing slip can show the SKU and the bin location, which many warehouses use for picking.",
		},
		{
			subject: "Request: DATEV export of invoices",
			body:    "Our accountant would like invoices as a DATEV export instead of PDFs.",
			answer:  "Thank you, I recorded the request for DATEV. Until then the monthly invoice CSV under Settings > Billing can be imported into DATEV with a standard mapping.",
		},
		{
			subject: "Multiple warehouses per order",
			body:    "We split orders between our {warehouse} warehouse and a fulfilment partner. Can one order have shipments from two warehouses?",
			answer:  "Not yet; I added your case to the split shipments request. In the meantime you can duplicate the order and assign each copy to one sender address.",
		},
	},
}

// Frontline's message to the customer when it escalates, per target team.
var handovers = map[string][]string{
	"engineering": {
		"I have passed this to our engineers with the details you sent, so you will not need to repeat anything. They will get back to you here.",
		"This needs a look at our platform logs, which our engineering team can do. I have handed it over with everything you sent.",
	},
	"billing": {
		"I have passed this to our billing team, who can change invoices and issue credits. They will reply here.",
		"Our billing colleagues can sort this out; I have handed it over with your invoice details.",
	},
	"accounts": {
		"This needs our accounts team, who handle ownership, security and data requests. I have passed it on with the details.",
		"I have handed this to our accounts and data team; they will reply here.",
	},
}

// Follow-ups of a customer whose integration is still failing; the hard cases get several
// before the fix, which is what sends them from Integrations to Engineering in draft.yaml.
var apiFollowUps = []string{
	"Thanks. We deployed the change to staging and it still fails about one call in ten. New request ID {req2}.",
	"Still failing in production, {n2} shipments are stuck since this morning. Is there any workaround for now?",
	"We logged the raw headers of one failing call and the webhook delivery, attached. Anything else you need from us?",
	"Our developer is only in until Thursday, so it would help to know whether the fix is on your side or ours.",
	"Quick update from our side: it does not happen every time. {req2} failed, the one right after it passed.",
}

// Engineers' interim replies during a long investigation.
var engInterim = []string{
	"Thanks, that helps. I can see the failing calls in our logs and I am comparing them with the successful ones.",
	"We have reproduced it in our test environment and are working on the cause. I will update you here today.",
	"The request you sent points to our side. I am checking with the colleague who changed that part last week.",
	"We found a difference between the failing and the passing calls and are testing a fix. No change is needed on your side for now.",
	"Thanks for the new example, it matches what we see. The fix is in review; I will tell you here as soon as it is deployed.",
}

// What a customer says when they are close to leaving; hits the churn list of the policies.
var churnFollowUps = []string{
	"This has cost us a week. If it is not fixed soon we will have to look at other providers.",
	"We are seriously considering switching provider if we cannot ship reliably through your platform.",
}

// A developer confirming a fix, after the ticket was solved.
var thanks = []string{
	"Thanks, that explains it. We changed it on our side and it works now.",
	"Confirmed, it works again in production. Thank you for digging into it.",
	"Deployed on our side this morning, no errors since. Thanks!",
}

// Follow-ups on other issue types while the receiving team works.
var plainFollowUps = []string{
	"Thank you for looking into it. Do you have an idea how long it will take?",
	"Thanks, let me know if you need anything else from us.",
	"Any news on this? Our accountant is asking.",
}

// returns are why a receiving team sends a ticket back as unnecessary, and what frontline then
// tells the customer.
type giveBack struct{ reason, answer string }

var returns = map[string][]giveBack{
	"engineering": {
		{"Documented behaviour: the docs page on authentication covers it, no platform issue. Frontline can answer this with the linked article.",
			"Our engineers checked: this is how the platform is meant to work, and our developer guide explains the exact steps. Here is the link, section 'Keys and permissions'; following it fixes the error."},
		{"Customer-side configuration, nothing in our logs shows a fault. The integration checklist in the help centre covers it.",
			"Our engineers confirmed the calls reach us and are answered correctly; the problem is in the configuration of your integration. The integration checklist in our help centre walks through each setting."},
	},
	"billing": {
		{"Frontline can do this in the admin panel: standard invoice correction, no credit needed.",
			"Good news: this is a standard correction. I have made it, and the corrected invoice is in your billing settings."},
	},
	"accounts": {
		{"Standard request, the self-service flow covers it; no identity check needed here.",
			"This can be done directly: I have sent you the self-service link, and it takes two minutes."},
	},
}

// Greetings and sign-offs vary the messages the way different people write.
var (
	customerOpeners = []string{"Hi,", "Hello,", "Hi Shipwell team,", "Good morning,", "Hello support,", "Hi there,", "Dear support team,", ""}
	customerClosers = []string{"Thanks, {first}", "Best regards, {first} {last}", "Cheers, {first}", "Thank you! {first}", "Kind regards, {first}", "{first}"}
	firstOpeners    = []string{"Hi {first},", "Hello {first},", "Hi {first}, thanks for reaching out.", "Hi {first}, thanks for reporting this.", "Hello {first}, thank you for the clear description."}
	laterOpeners    = []string{"Hi {first},", "Hello {first},", "Thanks, {first}.", "Hi {first}, thank you for your patience.", "Hi {first}, thanks for the update."}
)

// Values the templates draw from.
var (
	carriers  = []string{"DHL", "UPS", "DPD", "GLS", "Hermes", "PostNL", "Colissimo", "FedEx", "InPost", "Bring"}
	sdks      = []string{"Python", "Node.js", "PHP", "Ruby", "Java", ".NET"}
	platforms = []string{"Shopify", "WooCommerce", "Shopware", "Magento", "BigCommerce", "PrestaShop"}
	langs     = []string{"Node.js (Express)", "PHP (Laravel)", "Python (Django)", "Ruby on Rails", "Java (Spring)", "Go"}
	idps      = []string{"Okta", "Microsoft Entra ID", "Google Workspace", "OneLogin", "JumpCloud"}
	countries = []string{"Norway", "Switzerland", "the United Kingdom", "Canada", "Iceland", "Serbia", "the United States"}
	sites     = []string{"Leipzig", "Rotterdam", "Graz", "Poznań", "Lyon", "Malmö", "Verona"}
	weekdays  = []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday"}
	months    = []string{"August", "September", "October"}
)

// Account and people names. Accounts are online shops and brands of several countries, the
// legal form matching the country.
var (
	shopWords  = []string{"Nordwind", "Kaffeeküste", "Lumen", "Fjordlys", "Bergamo", "Atelier", "Velo", "Hafen", "Mosaik", "Sonnen", "Alba", "Kestrel", "Tundra", "Linden", "Corvo", "Brise", "Pinewood", "Salt & Pepper", "Marlin", "Quartz", "Holm", "Ember", "Juniper", "Kobalt", "Orchard", "Birke", "Riva", "Silva", "Tandem", "Wolke"}
	shopThings = []string{"Outdoor", "Home", "Coffee", "Cycling", "Ceramics", "Kids", "Pet Supply", "Apparel", "Tea House", "Optics", "Garden", "Books", "Audio", "Skincare", "Toys", "Living", "Sports", "Spices", "Leather", "Lighting"}
	legalForms = []struct{ country, form string }{{"DE", "GmbH"}, {"DE", "GmbH"}, {"DE", "UG"}, {"AT", "GmbH"}, {"NL", "B.V."}, {"FR", "SAS"}, {"GB", "Ltd"}, {"ES", "S.L."}, {"IT", "S.r.l."}, {"PL", "sp. z o.o."}, {"SE", "AB"}, {"DK", "ApS"}}
	firstNames = []string{"Anna", "Lukas", "Sophie", "Jonas", "Emma", "Paul", "Mia", "Ben", "Clara", "Leon", "Julia", "Finn", "Laura", "Noah", "Marie", "Elias", "Hannah", "Tim", "Lea", "Max", "Sarah", "Jan", "Nina", "David", "Eva", "Tobias", "Ida", "Mateo", "Chloé", "Lars", "Zofia", "Giulia", "Pablo", "Aylin", "Oliver", "Freya", "Karim", "Yara", "Sven", "Ines"}
	lastNames  = []string{"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hofmann", "Koch", "de Vries", "Jansen", "Dubois", "Martin", "Smith", "Jones", "García", "López", "Rossi", "Bianchi", "Kowalski", "Nowak", "Andersson", "Nielsen", "Larsen", "Yılmaz", "Novák", "Horvat", "Costa", "O'Brien"}
)
